// Entry point: runs the CLI, and is the only place that sets the exit code (the map from errors: exit-codes.ts).

import { homedir } from 'node:os';
import { CommanderError } from 'commander';
import { CancelledError, ConfigError, ServiceDownError, IgbackupError, messageOf } from './domain/errors.js';
import { buildProgram } from './cli/program.js';
import { exitCodeFor } from './exit-codes.js';
import { serviceGuard, type ServiceGuard } from './app/service-guard.js';
import { Output } from './cli/output.js';
import type { GlobalOptions } from './cli/globals.js';

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

/** After SIGINT/SIGTERM, how long cleanup may take before igbackup exits anyway (the promise: within 10 s). */
const LAST_RESORT_MS = 8000;
/** Signals within this long of the first are the same request (sent to the process and to its group). */
const DUPLICATE_SIGNAL_MS = 1000;
/** After the work finished: how long a stray handle may keep the process alive. */
const EXIT_GUARD_MS = 5000;

/** What a run stopped by the last resort may leave behind; every item is reclaimed by something named here. */
const MAY_BE_LEFT = [
  'the lock of this run (<prefix>/<env>/.igbackup/locks/…) until its lease ends (15 min after its last renewal) or the same command with --force-unlock',
  'an incomplete multipart upload (removed by the bucket rule AbortIncompleteMultipartUpload; igbackup storage init sets it)',
  'an artifact without a manifest, which is never a backup (igbackup list shows it as an orphan; prune removes it after orphanGraceHours)',
  'a scratch database or temp directory of a restore, verify or drill (named igbackup-* or *__igb_*)',
  'a service a restore or an offline Neo4j backup had stopped or scaled down, if its recovery was cut short: start it',
].map((l) => `  - ${l}`);

async function main(): Promise<void> {
  // A reader that went away (`| head`, a closed terminal) must not end the run half-way (a service stopped, a lock
  // held): what cannot be written is dropped, and the work goes on to its end or its recovery.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
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
  const guard = serviceGuard();
  const signals = handleSignals(abort, () => output, guard);

  const program = buildProgram({
    environ,
    cwd: process.cwd(),
    home: homedir(),
    signal: abort.signal,
    secrets,
    output: makeOutput,
    stdinIsTTY: Boolean(process.stdin.isTTY),
    guard,
  });
  try {
    await program.parseAsync(process.argv);
    process.exitCode = 0;
    // The signal came when nothing was left to cancel: the work is complete, and the exit code says so.
    if (signals.received())
      output?.warn(`${signals.received()} arrived after the work was complete; nothing was cancelled`);
  } catch (err) {
    // A cancel that left a service down is reported as that (exit 69): the operator has to act.
    const cancelled = abort.signal.aborted && !(err instanceof CommanderError) && !(err instanceof ServiceDownError);
    const code = cancelled ? 130 : exitCodeFor(err);
    process.exitCode = code;
    if (err instanceof CommanderError) return; // commander already printed usage or help
    const out = output ?? makeOutput(program.opts<GlobalOptions>());
    const described = describeError(err, code);
    const { type, hint } = described;
    const reason = messageOf(abort.signal.reason);
    // A cancel that surfaced as another error (a recovery that followed it, say) is named first, once.
    const message =
      cancelled && !(err instanceof CancelledError) && !described.message.startsWith(reason)
        ? `${reason}: ${described.message}`
        : described.message;
    out.error(message, hint);
    if (out.opts.json && !out.jsonWritten) {
      out.opts.stdout.write(
        `${out.redact(JSON.stringify({ ok: false, exitCode: code, error: { type, message, hint } }, null, 2))}\n`,
      );
    }
  } finally {
    signals.dispose();
  }
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** The error printed (and, with --json, the JSON answer) when igbackup stops at once after a signal. */
function lastWords(out: Output | undefined, message: string, code: number, type: string): void {
  if (out) out.error(message);
  else process.stderr.write(`error: ${message}\n`);
  if (out?.opts.json && !out.jsonWritten) {
    process.stdout.write(`${JSON.stringify({ ok: false, exitCode: code, error: { type, message } }, null, 2)}\n`);
  }
}

/** Stops igbackup at once after a signal: exit 69 naming a service left DOWN and how to bring it back, else 130. */
function stopNow(out: Output | undefined, guard: ServiceGuard, sig: string, why: string): never {
  const down = guard.down();
  if (down.length) {
    const first = down.map((d) => d.service).join(' and ');
    const commands = down.flatMap((d) => d.commands);
    lastWords(
      out,
      `${first} is DOWN: igbackup was stopped by ${sig} (${why}) while bringing it back; bring it back by hand: ${commands.join(' && ') || 'start it'}`,
      69,
      'ServiceDownError',
    );
    process.exit(69);
  }
  lastWords(
    out,
    `cancelled by ${sig}; ${why}: igbackup stops now (its child processes are killed). What may be left:\n${MAY_BE_LEFT.join('\n')}`,
    130,
    'CancelledError',
  );
  process.exit(130);
}

/**
 * The first SIGINT/SIGTERM/SIGHUP (a closed terminal or SSH session) cancels: running commands are ended, uploads
 * aborted, what was stored removed (the message says what), stopped services brought back, the lock released. A second
 * signal, or cleanup that outlasts LAST_RESORT_MS, stops at once — except while a service this run stopped is down:
 * then igbackup waits for its recovery, says so on a second signal, and only a third leaves it down (exit 69).
 */
function handleSignals(
  abort: AbortController,
  output: () => Output | undefined,
  guard: ServiceGuard,
): { received: () => string | undefined; dispose: () => void } {
  let lastResort: NodeJS.Timeout | undefined;
  let received: string | undefined;
  let later = 0;
  const stop = (sig: string, why: string): never => stopNow(output(), guard, sig, why);
  const armLastResort = (sig: string): void => {
    lastResort = setTimeout(() => {
      if (guard.down().length) {
        output()?.warn(
          `waiting for igbackup to bring back ${guard
            .down()
            .map((d) => d.service)
            .join(' and ')} before it exits`,
        );
        armLastResort(sig);
        return;
      }
      stop(sig, `the cleanup did not finish within ${LAST_RESORT_MS / 1000} s`);
    }, LAST_RESORT_MS);
    lastResort.unref();
  };
  let firstAt = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (abort.signal.aborted) {
      // A wrapper (timeout, npm, a CI runner) often forwards the signal and signals the whole group too: copies that
      // arrive together are one request to stop; only a signal sent later means "stop now".
      if (Date.now() - firstAt < DUPLICATE_SIGNAL_MS) return;
      const down = guard.down();
      if (down.length && ++later === 1) {
        output()?.warn(
          `${down.map((d) => d.service).join(' and ')} is stopped and igbackup is bringing it back; another ${sig} stops igbackup at once and leaves it down`,
        );
        return;
      }
      return stop(sig, 'another signal');
    }
    firstAt = Date.now();
    received = sig;
    abort.abort(new CancelledError(`cancelled by ${sig}`));
    armLastResort(sig);
  };
  for (const sig of SIGNALS) process.on(sig, onSignal);
  // bin/igbackup answers a signal that comes while the modules still load (exit 130); from here on, this does.
  const early = (globalThis as { igbackupEarlySignal?: (s: NodeJS.Signals) => void }).igbackupEarlySignal;
  if (early) for (const sig of SIGNALS) process.off(sig, early);
  return {
    received: () => received,
    dispose: () => {
      clearTimeout(lastResort);
      for (const sig of SIGNALS) process.off(sig, onSignal);
    },
  };
}

// Safety net: if the event loop ever drains while an operation is still pending, never exit 0.
let finished = false;
process.once('exit', (code) => {
  if (!finished && code === 0) {
    process.stderr.write(
      'error: igbackup stopped before the operation finished (internal error); nothing may be assumed stored\n',
    );
    process.exitCode = 70;
  }
});
await main();
finished = true;
// The work is done and the exit code set: a stray handle (a socket, a timer) must not keep the process alive.
setTimeout(() => process.exit(), EXIT_GUARD_MS).unref();
