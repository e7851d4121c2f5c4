// Taking Neo4j offline for Community dumps/loads and restores, bringing it back to the state it was found in: a stopped
// service on a VM (here), or a StatefulSet scaled to 0 with a helper pod on the data PVC (offline-pod.ts). Failures report what
// was done to recover; when Neo4j could not be brought back (or must not be: a ServiceDownError from inside the
// window), a ServiceDownError says it is DOWN and which commands would bring it back.

import type { Neo4jConfig } from '../../config/schema.js';
import { IgbackupError, ProcessFailedError, RecoveryError, ServiceDownError, messageOf } from '../../domain/errors.js';
import { capture } from '../../transports/run.js';
import { succeeded, type Transport } from '../../transports/transport.js';
import { shJoin } from '../../transports/wrapper.js';
import type { AppContext } from '../context.js';
import { waitUntil } from '../wait.js';

/**
 * The failure with what was done to recover after it, as a typed error (the cause kept, its message first, one
 * "recovery:" line): a RecoveryError from a plan's undo gets the notes added after its own.
 */
export function withRecovery(err: unknown, notes: string[]): unknown {
  if (!notes.length) return err;
  if (err instanceof RecoveryError)
    return new RecoveryError(err.step, err.cause, [
      ...(err.recovery.length ? err.recovery : ['nothing had been changed']),
      ...notes,
    ]);
  return new RecoveryError('offline window', err, notes);
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
    // A stop that did not take (or a start that came through after all): the real `neo4j start` refuses a running
    // DBMS, and a running Neo4j is what this was to bring about.
    if (await isRunning(transport, svc.status)) return attempt === 1 ? 'Neo4j is running' : 'started Neo4j';
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
