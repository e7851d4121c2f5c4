// The Transport interface: run an argv somewhere (here, over SSH, in a pod) and hand back its streams and exit status.

import type { Readable, Writable } from 'node:stream';
import type { CommandSpec } from '../domain/command.js';

export { reasonOf } from '../domain/notes.js';

export type { CommandSpec };

export interface ExitResult {
  /** Exit code, or undefined when killed by a signal or never started. */
  exitCode: number | undefined;
  signal: string | undefined;
  /** Last few KiB of stderr, for error messages. */
  stderrTail: string;
  /** Set when the program could not be started (not installed) or its channel broke (connection lost, idle timeout). */
  startError?: string | undefined;
  /** Remote transports: where the command ran ("ssh u@db1:22", "pod db-0 in namespace prod"), for messages. */
  where?: string | undefined;
  /** Set when the run was cancelled (SIGINT/SIGTERM) while this command ran: the reason, to be thrown as is. */
  cancelled?: Error | undefined;
}

export interface RunningCommand {
  /** Program name for messages, e.g. "pg_dump". */
  readonly name: string;
  readonly stdout: Readable;
  /** Present when spec.stdin was 'pipe'. */
  readonly stdin: Writable | undefined;
  /** Resolves (never rejects) once the process has exited and stderr is drained; bounded even when a descendant holds
   * the pipes (they are cut after a grace). stdout is the caller's to read. */
  readonly done: Promise<ExitResult>;
  /** Stops the process and what it started (SIGTERM, then SIGKILL after a grace period). Safe to call more than once. */
  kill(reason?: string): void;
  /**
   * Remote transports only: after `done`, checks the remote side's trailer (byte count + sha256 of the stream it
   * wrote, or read) against what this side received (or sent). Rejects with IntegrityError when they differ or the
   * trailer is missing.
   */
  verify?: ((local: { bytes: number; sha256: string }) => Promise<void>) | undefined;
}

/**
 * Every transport ends, on cancellation of the run (its AbortSignal), the commands running at that moment, and reports
 * them with `cancelled`. Commands started after the cancellation run normally: they are the recovery steps (start a
 * service again, drop a scratch database), bounded by the last-resort exit in main.
 */
export interface Transport {
  /** "local", "ssh", "kubernetes". */
  readonly kind: string;
  /** Where commands run, for messages and manifests, e.g. "localhost" or "db1.example:22". */
  readonly host: string;
  start(spec: CommandSpec): RunningCommand;
  /** Releases connections (SSH sessions); the transport may not be used afterwards. */
  close(): Promise<void>;
}

export function succeeded(r: ExitResult): boolean {
  return r.exitCode === 0 && !r.signal && !r.startError;
}
