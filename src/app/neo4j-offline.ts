// Taking Neo4j offline for Community dumps/loads and restores, bringing it back to the state it was found in: a stopped
// service on a VM, or a StatefulSet scaled to 0 with a helper pod on the data PVC in Kubernetes. Failures report what
// was done to recover; when Neo4j could not be brought back (or must not be: a ServiceDownError from inside the
// window), a ServiceDownError says it is DOWN and which commands would bring it back.

import type { KubernetesTransportConfig, Neo4jConfig } from '../config/schema.js';
import { IgbackupError, ProcessFailedError, RecoveryError, ServiceDownError, messageOf } from '../domain/errors.js';
import * as neo4j from '../engines/neo4j/commands.js';
import { KubernetesTransport } from '../transports/kubernetes.js';
import { Kubectl, kubectlBase } from '../transports/kubectl.js';
import { capture } from '../transports/run.js';
import { succeeded, type Transport } from '../transports/transport.js';
import { shJoin } from '../transports/wrapper.js';
import type { AppContext } from './context.js';
import { scratchStamp } from './scratch.js';
import { waitUntil } from './wait.js';

/** Adds the recovery report to an error's message (the primary cause stays first; one "recovery:" line). */
function withRecovery(err: unknown, notes: string[]): unknown {
  if (!(err instanceof Error) || !notes.length) return err;
  const line = /\nrecovery: [^\n]*/;
  err.message = line.test(err.message)
    ? err.message.replace(line, (l) => `${l}; ${notes.join('; ')}`)
    : `${err.message}\nrecovery: ${notes.join('; ')}`;
  return err;
}

/** What the work inside an offline window may need to know about it. */
export interface OfflineWindow {
  /** How messages name Neo4j ("Neo4j on host", "Neo4j (StatefulSet s in namespace n)"). */
  service: string;
  /** Neo4j was not running when the window opened: it is left stopped afterwards (the state it was found in). */
  foundStopped: boolean;
  /** A shell line an operator runs to execute argv where the work ran (on the host, or in the helper pod). */
  runThere: (argv: string[]) => string;
  /** The commands that bring Neo4j back to the state it was found in, once the operator has fixed what the work left. */
  bringBack: string[];
  /** The command that starts Neo4j (for one found stopped). */
  howToStart: string;
}

async function isRunning(transport: Transport, status: string[]): Promise<boolean> {
  return succeeded(await capture(transport, { argv: status }));
}

/** A shell line that runs argv where the transport runs it: as is locally, through ssh for an SSH transport ("user@host:port"). */
function runOn(transport: Transport, argv: string[]): string {
  if (transport.kind !== 'ssh') return shJoin(argv);
  const i = transport.host.lastIndexOf(':');
  return `ssh -p ${transport.host.slice(i + 1)} ${transport.host.slice(0, i)} ${shJoin([shJoin(argv)])}`;
}

/** Starts Neo4j and waits until the status command says it runs; retries; throws if it never comes back. */
export async function startNeo4j(ctx: AppContext, transport: Transport, svc: Neo4jConfig['service']): Promise<string> {
  let last = '';
  for (let attempt = 1; attempt <= svc.startAttempts; attempt++) {
    const r = await capture(transport, { argv: svc.start });
    if (succeeded(r)) {
      try {
        await waitUntil('Neo4j start', svc.readyTimeoutSec * 1000, () => isRunning(transport, svc.status), 500);
        return attempt === 1 ? 'started Neo4j' : `started Neo4j (attempt ${attempt})`;
      } catch (e) {
        last = (e as Error).message;
      }
    } else last = r.stderrTail.trim() || `exit ${r.exitCode}`;
    ctx.reporter.warn(`starting Neo4j failed (attempt ${attempt}/${svc.startAttempts}): ${last}`);
  }
  throw new IgbackupError(`Neo4j did not come back after ${svc.startAttempts} start attempts: ${last}`, {
    hint: `start it by hand (${svc.start.join(' ')}) and check its logs`,
  });
}

/** Neo4j on a VM is down: the start command (run where the transport runs) brings it back. */
function serviceDown(
  transport: Transport,
  svc: Neo4jConfig['service'],
  cause: unknown,
  recovery: string[],
): ServiceDownError {
  return new ServiceDownError(`Neo4j on ${transport.host}`, {
    cause,
    commands: [shJoin(svc.start)],
    recovery,
    hint: `on ${transport.host}, run: ${shJoin(svc.start)} (then check Neo4j's logs for why it did not start; ${shJoin(svc.status)} tells when it runs)`,
  });
}

/** Starts Neo4j after fn; a start that fails makes the error a ServiceDownError (cause: the first failure). */
async function startAgain(
  ctx: AppContext,
  transport: Transport,
  svc: Neo4jConfig['service'],
  failure: unknown,
  before: string[],
): Promise<string[]> {
  try {
    return [...before, await startNeo4j(ctx, transport, svc)];
  } catch (startErr) {
    // A failure whose own recovery ran (a plan's undo): its cause is what failed first, its notes come first.
    const prior = failure instanceof RecoveryError ? failure.recovery : [];
    const notes = [...prior, ...before, `start Neo4j: FAILED (${messageOf(startErr).split('\n')[0]})`];
    throw serviceDown(transport, svc, (failure instanceof RecoveryError ? failure.cause : failure) ?? startErr, notes);
  }
}

/**
 * Stops the DBMS, runs fn, and starts it again whatever happened — unless it was not running to begin with (then it
 * stays stopped) or fn threw a ServiceDownError (fn decided Neo4j must stay down: that error is the answer).
 */
export async function withServiceStopped<T>(
  ctx: AppContext,
  transport: Transport,
  svc: Neo4jConfig['service'],
  fn: (w: OfflineWindow) => Promise<T>,
): Promise<T> {
  const found = !(await isRunning(transport, svc.status));
  const start = runOn(transport, svc.start);
  const w: OfflineWindow = {
    service: `Neo4j on ${transport.host}`,
    foundStopped: found,
    runThere: (argv) => runOn(transport, argv),
    bringBack: found ? [] : [start],
    howToStart: start,
  };
  if (found) {
    ctx.reporter.warn(
      `Neo4j on ${transport.host} is not running (${svc.status.join(' ')}): it is not stopped, and it is left stopped afterwards, as found`,
    );
    try {
      return await fn(w);
    } catch (err) {
      throw err instanceof ServiceDownError
        ? err
        : withRecovery(err, ['Neo4j was not running before and is left stopped']);
    }
  }
  ctx.reporter.step(`stopping Neo4j (${svc.stop.join(' ')})`);
  const stop = await capture(transport, { argv: svc.stop });
  if (!succeeded(stop)) {
    // Nothing was changed; make sure it is still up and report.
    const failure = new ProcessFailedError(svc.stop.join(' '), stop);
    const notes = (await isRunning(transport, svc.status))
      ? ['Neo4j is still running']
      : await startAgain(ctx, transport, svc, failure, []);
    throw withRecovery(failure, notes);
  }
  // Down from here until started again: a signal waits for that (src/main.ts).
  const release = ctx.guard?.stopped(w.service, [start]) ?? (() => undefined);
  try {
    let result: T;
    try {
      await waitUntil(
        'Neo4j stop',
        svc.readyTimeoutSec * 1000,
        async () => !(await isRunning(transport, svc.status)),
        500,
      );
      result = await fn(w);
    } catch (err) {
      if (err instanceof ServiceDownError) throw err;
      throw withRecovery(err, await startAgain(ctx, transport, svc, err, []));
    }
    ctx.reporter.step('starting Neo4j again');
    await startAgain(ctx, transport, svc, undefined, ['the operation itself completed']);
    return result;
  } finally {
    release();
  }
}

/**
 * Before anything is stopped (restore preflight): the StatefulSet and the data PVC exist. Read-only `kubectl get`s;
 * a missing object is a ConfigError naming the setting to fix.
 */
export async function checkWorkload(
  ctx: AppContext,
  k8s: KubernetesTransportConfig,
  cfg: NonNullable<Neo4jConfig['kubernetes']>,
): Promise<string[]> {
  const kubectl = new Kubectl(k8s, ctx.runner);
  const problems: string[] = [];
  const objects: [string, string, string][] = [
    ['statefulset', cfg.statefulSet, 'neo4j.kubernetes.statefulSet'],
    ['pvc', cfg.pvc, 'neo4j.kubernetes.pvc'],
  ];
  for (const [kind, name, key] of objects) {
    const why = await kubectl.missing(k8s.namespace, kind, name);
    if (why !== undefined)
      problems.push(
        `${kind} ${name} in namespace ${k8s.namespace} could not be found (${why}): fix ${key} (or the transport's namespace, context, kubeconfig)`,
      );
  }
  return problems;
}

/**
 * Kubernetes Community: records the StatefulSet's replicas, scales to 0, waits for the pod to go, runs a helper pod
 * (same image) on the data PVC, runs fn with a transport into it, then deletes the helper, scales back and waits for
 * the rollout — the last three whatever happened.
 */
export async function withOfflinePod<T>(
  ctx: AppContext,
  k8s: KubernetesTransportConfig,
  cfg: NonNullable<Neo4jConfig['kubernetes']>,
  fn: (helper: Transport, w: OfflineWindow) => Promise<T>,
): Promise<T> {
  const kubectl = new Kubectl(k8s, ctx.runner);
  const ns = k8s.namespace;
  const replicas = await kubectl.replicas(ns, cfg.statefulSet);
  const helper = `igbackup-neo4j-${scratchStamp(ctx.now())}`;
  const w = offlineWindow(k8s, cfg, helper, replicas);
  let scaledDown = false;
  let helperStarted = false;
  let failure: unknown;
  let result: T | undefined;
  let release = (): void => undefined;
  try {
    ctx.reporter.step(`scaling statefulset ${cfg.statefulSet} from ${replicas} to 0`);
    await kubectl.scale(ns, cfg.statefulSet, 0);
    scaledDown = true;
    release = ctx.guard?.stopped(w.service, w.bringBack) ?? release; // a signal now waits for the scale-back
    await kubectl.waitDeleted(ns, `${cfg.statefulSet}-0`, cfg.helperTimeoutSec);
    ctx.reporter.step(`starting helper pod ${helper} on PVC ${cfg.pvc}`);
    helperStarted = true;
    const overrides = neo4j.helperPodOverrides({
      name: helper,
      image: cfg.image,
      pvc: cfg.pvc,
      mountPath: cfg.mountPath,
    });
    await kubectl.runPod(ns, helper, cfg.image, overrides, ['sleep', '86400']);
    await kubectl.waitReady(ns, helper, cfg.helperTimeoutSec);
    const into = new KubernetesTransport(
      { ...k8s, pod: helper, selector: undefined, primaryLabel: undefined, container: undefined },
      ctx.signal,
    );
    result = await fn(into, w);
  } catch (err) {
    // fn decided Neo4j must stay down (e.g. the previous database could not be put back): the helper pod stays for
    // the commands the error names, and the StatefulSet is not scaled back.
    if (err instanceof ServiceDownError) {
      release();
      throw err;
    }
    failure = err;
  }
  const run: OfflineRun = { w, namespace: ns, cfg, helper, replicas, helperStarted, scaledDown };
  const notes = await bringBack(kubectl, run).finally(release);
  const error = offlineError(run, failure, notes);
  if (error !== undefined) throw error;
  return result as T;
}

function offlineWindow(
  k8s: KubernetesTransportConfig,
  cfg: NonNullable<Neo4jConfig['kubernetes']>,
  helper: string,
  replicas: string,
): OfflineWindow {
  const k = shJoin([...kubectlBase(k8s), '-n', k8s.namespace]);
  return {
    service: `Neo4j (StatefulSet ${cfg.statefulSet} in namespace ${k8s.namespace})`,
    foundStopped: replicas === '0',
    runThere: (argv) => `${k} exec -i ${helper} -- ${shJoin(argv)}`,
    bringBack: [
      `${k} delete pod ${helper} --ignore-not-found=true`,
      `${k} scale statefulset ${cfg.statefulSet} --replicas=${replicas}`,
    ],
    howToStart: `${k} scale statefulset ${cfg.statefulSet} --replicas=1`,
  };
}

interface OfflineRun {
  w: OfflineWindow;
  namespace: string;
  cfg: NonNullable<Neo4jConfig['kubernetes']>;
  helper: string;
  replicas: string;
  helperStarted: boolean;
  scaledDown: boolean;
}

/** Deletes the helper pod, scales the StatefulSet back and waits for the rollout; one note per step. */
async function bringBack(kubectl: Kubectl, r: OfflineRun): Promise<string[]> {
  const notes: string[] = [];
  const step = async (what: string, call: () => Promise<string>): Promise<void> => {
    try {
      await call();
      notes.push(`${what}: ok`);
    } catch (e) {
      notes.push(`${what}: FAILED (${(e as Error).message.split('\n').slice(0, 2).join(' ')})`);
    }
  };
  const sts = r.cfg.statefulSet;
  if (r.helperStarted)
    await step(`deleted helper pod ${r.helper}`, () =>
      kubectl.deletePod(r.namespace, r.helper, r.cfg.helperTimeoutSec),
    );
  if (r.scaledDown) {
    await step(`scaled ${sts} back to ${r.replicas}`, () => kubectl.scale(r.namespace, sts, r.replicas));
    await step(`rollout of ${sts} complete`, () => kubectl.rolloutStatus(r.namespace, sts, r.cfg.rolloutTimeoutSec));
  }
  return notes;
}

/** What to throw after the offline window: DOWN when the scale-back or rollout failed, else the failure, else a leftover. */
function offlineError(r: OfflineRun, failure: unknown, notes: string[]): unknown {
  const back = notes.filter((n) => n.startsWith('scaled') || n.startsWith('rollout'));
  if (r.scaledDown && back.some((n) => n.includes('FAILED'))) {
    const commands = r.w.bringBack;
    return new ServiceDownError(r.w.service, {
      cause: (failure instanceof RecoveryError ? failure.cause : failure) ?? new IgbackupError(back.join('; ')),
      commands,
      recovery:
        failure === undefined
          ? ['the operation itself completed', ...notes]
          : [...(failure instanceof RecoveryError ? failure.recovery : []), ...notes],
      hint: `run: ${commands.join(' && ')}; then kubectl rollout status statefulset/${r.cfg.statefulSet} (and check the pod's events if it does not become ready)`,
    });
  }
  if (failure !== undefined) return withRecovery(failure, notes);
  const broken = notes.filter((n) => n.includes('FAILED'));
  if (broken.length)
    return new IgbackupError(`the operation finished and Neo4j runs again, but: ${broken.join('; ')}`, {
      hint: `delete pod ${r.helper} by hand`,
    });
  return undefined;
}
