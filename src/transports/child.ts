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
  return new GroupChild(name, proc);
}

/** One spawned process group and the bounds on everything that waits for it. */
class GroupChild implements Child {
  readonly stdout: Readable;
  readonly stderr: Readable;
  readonly stdin: Writable | undefined;
  readonly exit: Promise<ChildExit>;
  private resolveExit!: (e: ChildExit) => void;
  private exited: ChildExit | undefined;
  private cutReason: string | undefined;
  private killing = false;
  private closed = false;
  private readonly timers: NodeJS.Timeout[] = [];
  private stopWatch = (): void => undefined;
  // If igbackup itself exits (a last-resort exit after a signal), nothing it started may outlive it.
  private readonly onProcessExit = (): void => void this.signalGroup('SIGKILL');

  constructor(
    readonly name: string,
    private readonly proc: ChildProcess,
  ) {
    this.stdout = proc.stdout as Readable;
    this.stderr = proc.stderr as Readable;
    this.stdin = proc.stdin ?? undefined;
    this.exit = new Promise<ChildExit>((r) => (this.resolveExit = r));
    // Failures show in the exit status; a pipe error (EPIPE, a cut) must never become an uncaught exception.
    for (const s of [this.stdout, this.stderr, this.stdin]) s?.on('error', () => undefined);
    process.on('exit', this.onProcessExit);
    proc.once('error', (err) => this.onError(err));
    proc.once('exit', (code, signal) => this.onExit(code, signal));
    proc.once('close', () => {
      this.closed = true;
      this.stopWatch();
      for (const t of this.timers) clearTimeout(t);
      process.off('exit', this.onProcessExit);
    });
  }

  kill(): void {
    if (this.killing || this.closed) return;
    this.killing = true;
    this.stdin?.destroy();
    this.signalGroup('SIGTERM');
    this.escalate(`it did not stop within ${KILL_GRACE_MS / 1000} s of SIGTERM`, KILL_GRACE_MS);
  }

  private signalGroup(sig: NodeJS.Signals): boolean {
    if (this.proc.pid === undefined) return false;
    try {
      process.kill(-this.proc.pid, sig);
      return true;
    } catch {
      return false; // ESRCH: nothing left in the group
    }
  }

  private onError(err: Error): void {
    if (this.proc.pid !== undefined) return; // a failed kill(); the exit status tells the rest
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    this.cutReason = missing
      ? `${this.name}: command not found on PATH`
      : `${this.name} could not be started: ${err.message}`;
    this.stdout.destroy();
    this.stderr.destroy();
    this.settle({ error: this.cutReason });
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.settle({ code: code ?? undefined, signal: signal ?? undefined });
    const bytes = (s: Readable) => (): number => (s as Socket).bytesRead ?? 0;
    const watched = [this.stdout, this.stderr].map((stream) => ({ stream, bytes: bytes(stream) }));
    this.stopWatch = watchLinger(watched, () => {
      const held = `its output was still held open ${LINGER_MS / 1000} s after it exited (by a process it started)`;
      if (this.signalGroup('SIGTERM')) {
        const why = `${held}; its process group was ended`;
        this.cutReason ??= why;
        this.escalate(why, KILL_GRACE_MS);
      } else {
        // The holder left the process group (setsid): only cutting the pipes frees us; it may still run.
        const why = `${held}; the pipes were cut, but the holder had left the process group and may still run on this machine`;
        this.cutReason ??= why;
        this.cut(why);
      }
    });
  }

  /** Records the exit; `exit` resolves once stderr (the tail for messages) has ended or was cut. */
  private settle(e: ChildExit): void {
    this.exited ??= e;
    const finish = (): void => {
      const error = this.exited?.error ?? this.cutReason;
      this.resolveExit({ ...this.exited, ...(error ? { error } : {}) });
    };
    if (this.stderr.destroyed || this.stderr.readableEnded) return finish();
    this.stderr.once('close', finish);
    this.stderr.once('end', finish);
  }

  private escalate(why: string, graceMs: number): void {
    const killNow = (): void => {
      this.signalGroup('SIGKILL');
      this.timers.push(setTimeout(() => this.cut(why), CUT_AFTER_KILL_MS));
    };
    this.timers.push(setTimeout(killNow, graceMs));
  }

  private cut(why: string): void {
    this.cutReason ??= why;
    for (const s of [this.stdout, this.stderr]) if (!s.destroyed) s.destroy(new Error(`${this.name}: ${why}`));
    this.stdin?.destroy();
    if (!this.exited) this.settle({ error: `${this.name} did not exit after SIGKILL` });
  }
}

function failedChild(name: string, error: string): Child {
  const ended = (): PassThrough => new PassThrough().end() as PassThrough;
  return {
    name,
    stdout: ended(),
    stderr: ended(),
    stdin: undefined,
    exit: Promise.resolve({ error }),
    kill: () => undefined,
  };
}

/** Runs a short command to completion with a deadline (kubectl get ...), ended early by `signal`; never throws. */
export async function runChild(
  file: string,
  args: string[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<ChildExit & { stdout: string; stderr: string }> {
  const child = spawnChild(file, args, { stdin: 'ignore' });
  const onAbort = (): void => child.kill();
  signal?.addEventListener('abort', onAbort, { once: true });
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
  signal?.removeEventListener('abort', onAbort);
  const late = timedOut ? { error: `${file} did not finish within ${timeoutMs / 1000} s` } : {};
  return { ...e, ...late, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}
