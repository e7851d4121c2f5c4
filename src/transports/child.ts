// Local child processes in their own process group, ended with everything they started (SIGTERM, then SIGKILL after
// a grace) on every path out; no wait on their pipes is unbounded.

import { spawn, type ChildProcess } from 'node:child_process';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import type { Socket } from 'node:net';
import { LINGER_MS, watchLinger } from './linger.js';

export const KILL_GRACE_MS = 5000;
/** After SIGKILL: how long before the pipes are cut and the exit is reported anyway. */
const CUT_AFTER_KILL_MS = 1000;

export interface ChildExit {
  code?: number | undefined;
  signal?: string | undefined;
  /** Why it could not start, or why its pipes had to be cut. */
  error?: string | undefined;
}

export interface Child {
  readonly name: string;
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly stdin: Writable | undefined;
  /**
   * Resolves (never rejects) once the process exited and its stderr ended — or was cut because something it started
   * kept it open. stdout is not waited for (its consumer may be slow); a held stdout is cut with an error.
   */
  readonly exit: Promise<ChildExit>;
  /** SIGTERM to the whole process group, SIGKILL after KILL_GRACE_MS, then the pipes are cut. Idempotent. */
  kill(): void;
}

export interface ChildOptions {
  /** Added to this process's environment. */
  env?: Record<string, string> | undefined;
  stdin: 'pipe' | 'ignore';
}

export function spawnChild(file: string, args: string[], opts: ChildOptions): Child {
  const name = file.split('/').pop() ?? file;
  let proc: ChildProcess;
  try {
    proc = spawn(file, args, {
      detached: true, // own process group: a signal to -pid reaches every descendant that did not leave it
      stdio: [opts.stdin, 'pipe', 'pipe'],
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
    });
  } catch (err) {
    return failedChild(name, `${name} could not be started: ${(err as Error).message}`);
  }
  return superviseChild(name, proc);
}

function superviseChild(name: string, proc: ChildProcess): Child {
  const stdout = proc.stdout as Readable;
  const stderr = proc.stderr as Readable;
  const pgid = proc.pid;
  const timers: NodeJS.Timeout[] = [];
  let exited: ChildExit | undefined;
  let cutReason: string | undefined;
  let killing = false;
  let closed = false;
  let stopWatch = (): void => undefined;
  // Failures show in the exit status; a pipe error (EPIPE, a cut) must never become an uncaught exception.
  for (const s of [stdout, stderr, proc.stdin]) s?.on('error', () => undefined);
  let resolveExit!: (e: ChildExit) => void;
  const exit = new Promise<ChildExit>((r) => (resolveExit = r));

  const signalGroup = (sig: NodeJS.Signals): boolean => {
    if (pgid === undefined) return false;
    try {
      process.kill(-pgid, sig);
      return true;
    } catch {
      return false; // ESRCH: nothing left in the group
    }
  };
  // If igbackup itself exits (a last-resort exit after a signal), nothing it started may outlive it.
  const onProcessExit = (): void => void signalGroup('SIGKILL');
  process.on('exit', onProcessExit);

  const cut = (why: string): void => {
    cutReason ??= why;
    for (const s of [stdout, stderr]) if (!s.destroyed) s.destroy(new Error(`${name}: ${why}`));
    proc.stdin?.destroy();
    if (!exited) settle({ error: `${name} did not exit after SIGKILL` });
  };
  const escalate = (why: string, graceMs: number): void => {
    timers.push(
      setTimeout(() => {
        signalGroup('SIGKILL');
        timers.push(setTimeout(() => cut(why), CUT_AFTER_KILL_MS));
      }, graceMs),
    );
  };
  const settle = (e: ChildExit): void => {
    exited ??= e;
    const finish = (): void => resolveExit({ ...exited, ...(cutReason ? { error: exited?.error ?? cutReason } : {}) });
    if (stderr.destroyed || stderr.readableEnded) finish();
    else {
      stderr.once('close', finish);
      stderr.once('end', finish);
    }
  };

  proc.once('error', (err) => {
    if (pgid === undefined) {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      cutReason = missing ? `${name}: command not found on PATH` : `${name} could not be started: ${err.message}`;
      stdout.destroy();
      stderr.destroy();
      settle({ error: cutReason });
    }
  });
  proc.once('exit', (code, signal) => {
    settle({ code: code ?? undefined, signal: signal ?? undefined });
    const bytes = (s: Readable) => (): number => (s as Socket).bytesRead ?? 0;
    stopWatch = watchLinger([{ stream: stdout, bytes: bytes(stdout) }, { stream: stderr, bytes: bytes(stderr) }], () => {
      const why = `its output was still held open ${LINGER_MS / 1000} s after it exited (by a process it started); that was ended`;
      cutReason ??= why;
      if (signalGroup('SIGTERM')) escalate(why, KILL_GRACE_MS);
      else cut(why); // the holder left the process group: only cutting the pipes frees us
    });
  });
  proc.once('close', () => {
    closed = true;
    stopWatch();
    for (const t of timers) clearTimeout(t);
    process.off('exit', onProcessExit);
  });

  return {
    name,
    stdout,
    stderr,
    stdin: proc.stdin ?? undefined,
    exit,
    kill: () => {
      if (killing || closed) return;
      killing = true;
      proc.stdin?.destroy();
      signalGroup('SIGTERM');
      escalate(`it did not stop within ${KILL_GRACE_MS / 1000} s of SIGTERM`, KILL_GRACE_MS);
    },
  };
}

function failedChild(name: string, error: string): Child {
  const ended = (): PassThrough => new PassThrough().end() as PassThrough;
  return { name, stdout: ended(), stderr: ended(), stdin: undefined, exit: Promise.resolve({ error }), kill: () => undefined };
}

/** Runs a short command to completion with a deadline (kubectl get ...); never throws. */
export async function runChild(file: string, args: string[], timeoutMs: number): Promise<ChildExit & { stdout: string; stderr: string }> {
  const child = spawnChild(file, args, { stdin: 'ignore' });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill();
  }, timeoutMs);
  const stdoutDone = new Promise<void>((r) => {
    child.stdout.once('close', r);
    child.stdout.once('end', r);
  });
  const e = await child.exit;
  await stdoutDone;
  clearTimeout(timer);
  const late = timedOut ? { error: `${file} did not finish within ${timeoutMs / 1000} s` } : {};
  return { ...e, ...late, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}
