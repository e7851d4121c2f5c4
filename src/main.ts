// Entry point: runs the CLI, and is the only place that turns errors into exit codes.

import { homedir } from 'node:os';
import { CommanderError } from 'commander';
import {
  CancelledError,
  ConfigError,
  ConfirmationRequiredError,
  DriftError,
  LockedError,
  ArchivedError,
  IgbackupError,
  IntegrityError,
  NotFoundError,
  SomeFailedError,
  messageOf,
} from './domain/errors.js';
import { buildProgram } from './cli/program.js';
import { Output } from './cli/output.js';
import type { GlobalOptions } from './cli/globals.js';

export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  if (err instanceof SomeFailedError) return exitCodeFor(err.failures[0]?.error);
  if (err instanceof ConfigError) return 2;
  if (err instanceof IntegrityError) return 3;
  if (err instanceof NotFoundError) return 4;
  if (err instanceof ConfirmationRequiredError) return 5;
  if (err instanceof DriftError) return 6;
  if (err instanceof LockedError) return 7;
  if (err instanceof ArchivedError) return 75;
  if (err instanceof CancelledError) return 130;
  if (err instanceof IgbackupError || isOperational(err)) return 1;
  return 70; // a bug: nothing typed it, so nothing may be assumed about what it left behind
}

/** An error from the system or a library about the outside world (ENOSPC, ECONNRESET, an S3 error), not a bug. */
function isOperational(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; syscall?: unknown; $metadata?: unknown };
  return typeof e.syscall === 'string' || typeof e.$metadata === 'object' || (typeof e.code === 'string' && /^E[A-Z0-9]+$/.test(e.code));
}

/** The message and hint printed for an error; an internal error says so and carries the stack for a bug report. */
function describeError(err: unknown, code: number): { type: string; message: string; hint: string | undefined } {
  const type = err instanceof Error ? err.name : 'Error';
  if (code === 70) {
    const stack = err instanceof Error && err.stack ? `\n${err.stack.split('\n').slice(1, 9).join('\n')}` : '';
    return {
      type,
      message: `internal error (a bug in igbackup): ${type}: ${messageOf(err)}${stack}`,
      hint: 'please report it with the command line and this output; the operation did not finish, so check what it may have left behind (igbackup list shows incomplete objects)',
    };
  }
  const problems = err instanceof ConfigError ? err.problems : [];
  const message = [messageOf(err), ...problems.map((p) => `  - ${p}`)].join('\n');
  return { type, message, hint: err instanceof IgbackupError ? err.hint || undefined : undefined };
}

async function main(): Promise<void> {
  const secrets = new Set<string>();
  const abort = new AbortController();
  const environ = process.env;
  let output: Output | undefined;
  const makeOutput = (g: GlobalOptions): Output =>
    (output ??= new Output({
      json: Boolean(g.json),
      quiet: Boolean(g.quiet),
      color: g.color !== false && !environ.NO_COLOR && Boolean(process.stderr.isTTY),
      stdout: process.stdout,
      stderr: process.stderr,
      secrets,
      interactive: Boolean(process.stderr.isTTY) && !environ.CI,
    }));
  const onSignal = (sig: NodeJS.Signals): void => {
    if (abort.signal.aborted) return;
    abort.abort(new CancelledError(`cancelled by ${sig}; the upload was aborted, nothing was stored`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const program = buildProgram({
    environ,
    cwd: process.cwd(),
    home: homedir(),
    signal: abort.signal,
    secrets,
    output: makeOutput,
    stdinIsTTY: Boolean(process.stdin.isTTY),
  });
  try {
    await program.parseAsync(process.argv);
    process.exitCode = 0;
  } catch (err) {
    const code = exitCodeFor(err);
    process.exitCode = code;
    if (err instanceof CommanderError) return; // commander already printed usage or help
    const out = output ?? makeOutput(program.opts<GlobalOptions>());
    const { type, message, hint } = describeError(err, code);
    out.error(message, hint);
    if (out.opts.json && !out.jsonWritten) {
      out.opts.stdout.write(`${out.redact(JSON.stringify({ ok: false, exitCode: code, error: { type, message, hint } }, null, 2))}\n`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

// Safety net: if the event loop ever drains while an operation is still pending, never exit 0.
let finished = false;
process.once('exit', (code) => {
  if (!finished && code === 0) {
    process.stderr.write('error: igbackup stopped before the operation finished (internal error); nothing may be assumed stored\n');
    process.exitCode = 70;
  }
});
await main();
finished = true;
