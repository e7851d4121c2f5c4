// Carries out the reads and waits of an engine's backup plan (engines/backup-plan.ts) through a transport: a read's
// stdout becomes facts, a failed command a ProcessFailedError with the plan's hint, a problem the error it names.

import { ConfigError, IgbackupError, ProcessFailedError } from '../domain/errors.js';
import { isProblem, type Facts, type PlanStep, type Problem, type Read, type Wait } from '../engines/backup-plan.js';
import { capture } from '../transports/run.js';
import { succeeded, type Transport } from '../transports/transport.js';
import type { AppContext } from './context.js';
import { waitUntil } from './wait.js';

/** Runs the steps in order, each seeing the facts found so far; returns them all. */
export async function runSteps(ctx: AppContext, t: Transport, steps: PlanStep[], start: Facts = {}): Promise<Facts> {
  let facts: Facts = start;
  for (const step of steps) {
    if (step.kind === 'wait') await runWait(ctx, t, step, facts);
    else facts = { ...facts, ...(await runRead(ctx, t, step, facts)) };
  }
  return facts;
}

/** One read: its facts; or nothing (optional, or a warning); or it throws. */
export async function runRead(ctx: AppContext, t: Transport, read: Read, facts: Facts): Promise<Facts> {
  if (read.report) ctx.reporter.step(read.report);
  const spec = typeof read.command === 'function' ? read.command(facts) : read.command;
  const r = await capture(t, spec, read.stdin);
  const answer = r.stdout.trim();
  const failed = !succeeded(r) || Boolean(read.errorAnswer?.test(answer));
  const parsed: Facts | Problem = failed ? { problem: '' } : read.parse(r.stdout, facts);
  if (!isProblem(parsed)) return parsed;
  if (read.optional) return {};
  if (read.warn) {
    const why = parsed.problem || r.stderrTail.trim().split('\n')[0] || answer.split('\n')[0] || 'no output';
    ctx.reporter.warn(read.warn(why));
    return {};
  }
  if (succeeded(r) && read.errorAnswer?.test(answer))
    // The server refused (redis-cli prints its error and exits 0): say so, and what a login error means.
    throw new IgbackupError(
      `${read.what}: the server answered with an error:\n${answer.split('\n').slice(-2).join(' ')}`,
      {
        hint: /WRONGPASS|NOAUTH|AUTH failed/.test(`${answer}\n${r.stderrTail}`)
          ? "the login was refused: check the password (and user) the section references; a redis.replica uses the section's user and password"
          : read.hint,
      },
    );
  if (failed || parsed.failed) {
    const tail = [r.stderrTail.trim(), failed ? answer : parsed.problem].filter(Boolean).join('\n');
    throw new ProcessFailedError(
      read.what,
      { ...r, exitCode: failed ? r.exitCode : 1, stderrTail: tail },
      { hint: read.hint },
    );
  }
  throw problemError(parsed);
}

/** The error a problem names: a ConfigError (exit 2) when it is the configuration's, else a failure. */
export function problemError(p: Problem): IgbackupError {
  return p.config ? new ConfigError(p.problem, [], { hint: p.hint }) : new IgbackupError(p.problem, { hint: p.hint });
}

async function runWait(ctx: AppContext, t: Transport, w: Wait, before: Facts): Promise<void> {
  await waitUntil(
    w.what,
    w.timeoutMs,
    async () => {
      const verdict = w.until(await runRead(ctx, t, w.probe, before), before);
      if (typeof verdict === 'boolean') return verdict;
      throw new ProcessFailedError(
        w.what,
        { exitCode: 1, signal: undefined, stderrTail: verdict.problem },
        { hint: verdict.hint },
      );
    },
    w.intervalMs,
    ctx.signal,
  );
}
