// What an engine's backup is, as data (pure): the reads that check the target and gather facts, the waits, the
// artifacts streamed from a producer's stdout, the cleanup, and the offline window it needs. One runner in
// app/backup.ts carries out every engine's plan; the engine never spawns anything itself.

import type { CommandSpec } from '../domain/command.js';

/** What the reads of a plan found out so far (by name), for the commands and judgements that follow. */
export type Facts = Readonly<Record<string, string>>;

/**
 * What is wrong, named for the operator. `config`: a configuration error (exit 2); `failed`: the command's own
 * failure (its answer was an error, as redis-cli reports them); otherwise a failure of the backup.
 */
export interface Problem {
  problem: string;
  hint?: string | undefined;
  config?: boolean | undefined;
  failed?: boolean | undefined;
}

export function isProblem(x: Facts | Problem | boolean): x is Problem {
  return typeof x === 'object' && typeof (x as Problem).problem === 'string' && Object.hasOwn(x, 'problem');
}

/** A command whose stdout becomes facts, or a problem. */
export interface Read {
  kind: 'read';
  /** What is read, for messages ("pg_dump --version"). */
  what: string;
  command: CommandSpec | ((f: Facts) => CommandSpec);
  stdin?: string | undefined;
  /** Turns stdout into facts, or names what is wrong. */
  parse: (stdout: string, f: Facts) => Facts | Problem;
  /** The hint of the error when the command fails. */
  hint?: string | undefined;
  /** A successful exit whose stdout matches is the command's failure (redis-cli prints the server's errors). */
  errorAnswer?: RegExp | undefined;
  /** Set: a failure is this warning (the read adds no facts) instead of the end of the backup. */
  warn?: ((why: string) => string) | undefined;
  /** A failure adds no facts and says nothing (a version read for the manifest only). */
  optional?: boolean | undefined;
  /** Said in the report before the command runs. */
  report?: string | undefined;
}

/** A read repeated until `until` says done (true) or names a problem; bounded by timeoutMs. */
export interface Wait {
  kind: 'wait';
  what: string;
  probe: Read;
  until: (now: Facts, before: Facts) => boolean | Problem;
  timeoutMs: number;
  intervalMs: number;
}

export type PlanStep = Read | Wait;

/** One artifact: a producer's stdout, compressed, checked end to end and uploaded. */
export interface ArtifactPlan {
  role: 'dump' | 'globals';
  /** The key's extension before the compression's (".dump"). */
  extension: string;
  command: CommandSpec;
  /** What a complete output starts with, when the format has a magic. */
  magic?: { bytes: Buffer; format: string } | undefined;
  /** Said in the report ("dumping app"); the key is added. */
  report: string;
  /** What to check when the producer fails. */
  producerHint: string;
}

/** The backup of one unit (a database, or the instance). */
export interface UnitPlan {
  /** Run in order before the first artifact (size estimate, BGSAVE, an online backup into a scratch dir). */
  steps: PlanStep[];
  /** The artifacts, from what the steps found (the first is the main one). */
  artifacts: (f: Facts) => ArtifactPlan[];
  /** Run after the unit whatever happened (a scratch dir removed); a failure here is only a warning. */
  cleanup?: CommandSpec[] | undefined;
  /** Bytes the main artifact is expected to have, for the upload's part size (unknown: undefined). */
  sizeEstimate?: ((f: Facts) => number | undefined) | undefined;
  /** Recorded in the manifest. */
  format: string;
  /** The target's address ("db:5432"); undefined: the host of the transport the work ran through. */
  address: string | undefined;
  /** Facts worth keeping in the manifest (server version, key count). */
  manifestFacts?: ((f: Facts) => Record<string, string>) | undefined;
}

/** How a service is stopped, started and probed on a host (argv run through the transport). */
export interface ServiceControl {
  stop: string[];
  start: string[];
  /** Exits 0 when the service runs and answers. */
  status: string[];
  readyTimeoutSec: number;
  startAttempts: number;
}

/** A workload in Kubernetes taken offline: scaled to 0, its data volume mounted by a helper pod of the same image. */
export interface OfflineWorkload {
  statefulSet: string;
  pvc: string;
  image: string;
  mountPath: string;
  helperTimeoutSec: number;
  rolloutTimeoutSec: number;
}

/**
 * Where the backup must run with the service offline (Neo4j Community): the service stopped on its host (and started
 * again), or the workload scaled to 0 and the work run in a helper pod (then scaled back). The runner opens each kind.
 */
export type OfflineWindow =
  { kind: 'service-stopped'; service: ServiceControl } | { kind: 'kubernetes-helper-pod'; workload: OfflineWorkload };

export interface BackupPlan {
  /** Backed up in turn; a failure of one is reported and the next is still tried. */
  units: string[];
  /** Read before anything is uploaded (where the work runs); their facts are the manifest's tool versions. */
  tools: Read[];
  /** Read after the tools, once for all units (the databases exist, the server's facts). */
  checks: Read[];
  /** Read where the work runs before an offline window opens (a tool the work needs: nothing stopped without it). */
  before?: Read[] | undefined;
  /** Taken offline around the units (the tools and checks run inside it). */
  window?: OfflineWindow | undefined;
  unit: (name: string) => UnitPlan;
  /** A request this engine cannot carry out (an option its edition lacks): exit 2 before anything runs. */
  refused?: Problem | undefined;
}
