// One step runner for operations that change a server (stop, put aside, replace, start): runs the steps in order;
// when one fails, or the run is cancelled, undoes the completed ones in reverse and throws a typed error that keeps
// the cause and says what was undone — a ServiceDownError when an undo that brings a service back failed. Beside it,
// withCleanups: cleanups that run whatever happened (also on success), for throwaway things such as a drill namespace.

import { RecoveryError, ServiceDownError, messageOf } from '../domain/errors.js';

export { RecoveryError };
import { reasonOf } from '../domain/notes.js';
import type { Reporter } from './reporter.js';
import type { ServiceGuard } from './service-guard.js';

/** How a completed step is put back. */
export interface Undo {
  /** What the undo does, for the report ("start Redis again"). */
  name: string;
  run: () => Promise<void>;
  /** Commands an operator can run when this undo fails (shown in the error). */
  manual?: string[] | undefined;
  /** Set when this undo brings a stopped service back: its failure leaves that service DOWN. */
  service?: string | undefined;
}

export interface Step {
  /** What the step does, for the report ("stop Redis 127.0.0.1:6379"). */
  name: string;
  run: () => Promise<void>;
  /** Runs only if run() completed and a later step failed (or the run was cancelled). */
  undo?: Undo | undefined;
}

export interface PlanOptions {
  reporter: Reporter;
  /**
   * From the first completed step whose undo brings a service back until the plan (or its undo) has finished, the
   * service is recorded as down here: a signal then waits for the recovery instead of stopping igbackup.
   */
  guard?: ServiceGuard | undefined;
  /** The run's cancellation: checked before each step, so a cancelled run stops and undoes what it did. */
  signal?: AbortSignal | undefined;
}

/** Runs steps in order; on failure undoes the completed ones in reverse; see the file comment for the errors. */
export async function runPlan(steps: Step[], opts: PlanOptions): Promise<void> {
  const done: Step[] = [];
  const released: (() => void)[] = [];
  try {
    for (const step of steps) {
      try {
        if (opts.signal?.aborted) throw reasonOf(opts.signal);
        opts.reporter.step(step.name);
        await step.run();
        done.push(step);
        if (step.undo?.service && opts.guard)
          released.push(opts.guard.stopped(step.undo.service, step.undo.manual ?? []));
      } catch (err) {
        throw await undoAll(step.name, err, done, opts);
      }
    }
  } finally {
    for (const release of released) release();
  }
}

/** Undoes `done` in reverse, whatever fails on the way; returns the error to throw. */
async function undoAll(failedStep: string, cause: unknown, done: Step[], opts: PlanOptions): Promise<Error> {
  const recovery: string[] = [];
  const down: { service: string; manual: string[] }[] = [];
  const manual: string[] = [];
  for (const step of [...done].reverse()) {
    const undo = step.undo;
    if (!undo) continue;
    try {
      await undo.run();
      recovery.push(`${undo.name}: ok`);
    } catch (e) {
      recovery.push(`${undo.name}: FAILED (${messageOf(e).split('\n')[0]})`);
      manual.push(...(undo.manual ?? []));
      if (undo.service) down.push({ service: undo.service, manual: undo.manual ?? [] });
    }
  }
  if (recovery.length) opts.reporter.warn(`${failedStep} failed; recovery: ${recovery.join('; ')}`);
  // A step that failed saying its service must stay down (it left it half changed) keeps saying so.
  if (cause instanceof ServiceDownError)
    return new ServiceDownError(cause.service, {
      cause: cause.cause,
      commands: [...cause.commands, ...manual],
      recovery: [...cause.recovery, ...recovery],
      hint: cause.hint,
    });
  if (down.length) {
    const services = [...new Set(down.map((d) => d.service))].join(' and ');
    return new ServiceDownError(services, { cause, recovery, commands: manual });
  }
  return new RecoveryError(failedStep, cause, recovery);
}

/**
 * Runs `work`, then, whatever happened (success, failure or cancel), the cleanups it registered with `defer`, in
 * reverse: each announced as a step ("<what>: <name>"), every one attempted; when one fails, one warning lists each
 * as ok or FAILED (as runPlan's undos are) with the commands to finish by hand. A failed cleanup is never thrown:
 * work's own result, or its error, is what comes back.
 */
export async function withCleanups<T>(
  what: string,
  opts: Pick<PlanOptions, 'reporter'>,
  work: (defer: (cleanup: Undo) => void) => Promise<T>,
): Promise<T> {
  const cleanups: Undo[] = [];
  try {
    return await work((cleanup) => cleanups.push(cleanup));
  } finally {
    await runCleanups(what, cleanups.reverse(), opts.reporter);
  }
}

/** Runs every cleanup in the given order; warns once, listing each as ok or FAILED, when any failed. */
async function runCleanups(what: string, cleanups: Undo[], reporter: Reporter): Promise<void> {
  const results: string[] = [];
  const manual: string[] = [];
  let failed = false;
  for (const cleanup of cleanups) {
    reporter.step(`${what}: ${cleanup.name}`);
    try {
      await cleanup.run();
      results.push(`${cleanup.name}: ok`);
    } catch (e) {
      failed = true;
      results.push(`${cleanup.name}: FAILED (${messageOf(e).split('\n')[0]})`);
      manual.push(...(cleanup.manual ?? []));
    }
  }
  if (failed)
    reporter.warn(
      `${what}: cleanup: ${results.join('; ')}${manual.length ? `; finish it by hand: ${manual.join(' && ')}` : ''}`,
    );
}
