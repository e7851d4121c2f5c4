// Shared plumbing for remote transports: runs the wrapper over a channel (SSH exec, kubectl exec), sends the env
// header, collects the trailer, enforces an idle timeout, and exposes it all as a RunningCommand. Every wait is
// bounded: a killed channel that does not end, or pipes held open after the remote process exited, are cut.

import { PassThrough, pipeline, type Readable, type Writable } from 'node:stream';
import { KILL_GRACE_MS } from './child.js';
import { watchLinger } from './linger.js';
import { signalOfExitCode } from '../domain/errors.js';
import { TailBuffer } from './tail.js';
import { reasonOf, type CommandSpec, type ExitResult, type RunningCommand } from './transport.js';
import { checkTrailer, envHeader, parseTrailer, type Trailer } from './wrapper.js';

/** A started remote process as the transport sees it. */
export interface Channel {
  stdout: Readable;
  stderr: Readable;
  stdin: Writable;
  /** Resolves when the remote process is gone: its exit code/signal, or why the channel broke. */
  exit: Promise<{ code?: number | undefined; signal?: string | undefined; error?: string | undefined }>;
  kill(): void;
}

export interface RemoteOptions {
  /** Where it runs, for messages: "ssh db1:22", "pod db-0 in ns prod". */
  where: string;
  /** Kill and fail when a backup stream delivers no bytes for this long. */
  idleTimeoutMs: number;
  /** The run's cancellation: a command running when it aborts is killed and reported as cancelled. */
  signal?: AbortSignal | undefined;
}

/** How long a killed channel may take to end before it is given up on. */
const KILLED_CHANNEL_MS = KILL_GRACE_MS + 2000;
/** After a held channel was killed: how long before its streams are cut. */
const CUT_AFTER_MS = 1000;

export function remoteCommand(
  spec: CommandSpec,
  open: (direction: 'out' | 'in') => Promise<Channel>,
  opts: RemoteOptions,
): RunningCommand {
  return new RemoteCommand(spec, open, opts);
}

class RemoteCommand implements RunningCommand {
  readonly name: string;
  readonly stdout = new PassThrough({ highWaterMark: 1024 * 1024 });
  readonly stdin: PassThrough | undefined;
  readonly done: Promise<ExitResult>;
  private readonly direction: 'out' | 'in';
  private readonly header: string;
  private readonly tail = new TailBuffer();
  private channel: Channel | undefined;
  private killedFor: string | undefined;
  private cancelled: Error | undefined;
  private trailer: Trailer | undefined;
  private ended = false;
  private idle: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;
  private giveUp = (): void => undefined;
  private readonly givenUp: Promise<Awaited<Channel['exit']>>;
  private readonly onAbort = (): void => {
    this.cancelled = reasonOf(this.opts.signal);
    this.kill(`cancelled (${this.cancelled.message})`);
  };

  constructor(
    spec: CommandSpec,
    private readonly open: (direction: 'out' | 'in') => Promise<Channel>,
    private readonly opts: RemoteOptions,
  ) {
    this.direction = spec.stdin === 'pipe' ? 'in' : 'out';
    this.name = (spec.argv[0] ?? '?').split('/').pop() ?? '?';
    this.header = envHeader(spec.env); // throws on unusable values before anything starts
    this.stdin = this.direction === 'in' ? new PassThrough({ highWaterMark: 1024 * 1024 }) : undefined;
    this.givenUp = new Promise((resolve) => {
      this.giveUp = () =>
        resolve({
          error: `${opts.where}: the command did not end within ${KILLED_CHANNEL_MS / 1000} s of being stopped`,
        });
    });
    if (opts.signal && !opts.signal.aborted) opts.signal.addEventListener('abort', this.onAbort, { once: true });
    this.done = this.run().finally(() => {
      this.ended = true;
      opts.signal?.removeEventListener('abort', this.onAbort);
    });
  }

  kill = (reason?: string): void => {
    this.killedFor ??= reason ?? 'stopped by igbackup';
    this.channel?.kill();
    this.stdin?.destroy();
    // A kill after the end (a caller cleaning up) has nothing to wait for: no timer that would hold the process.
    if (!this.ended) this.deadline ??= setTimeout(this.giveUp, KILLED_CHANNEL_MS);
  };

  verify = async (local: { bytes: number; sha256: string }): Promise<void> => {
    await this.done;
    checkTrailer(this.trailer, local, this.opts.where, this.direction);
  };

  private armIdle(): void {
    if (this.direction !== 'out') return;
    clearTimeout(this.idle);
    const secs = Math.round(this.opts.idleTimeoutMs / 1000);
    this.idle = setTimeout(
      () => this.kill(`no data from ${this.opts.where} for ${secs} s (idle timeout)`),
      this.opts.idleTimeoutMs,
    );
    this.idle.unref?.();
  }

  private async run(): Promise<ExitResult> {
    let ch: Channel;
    try {
      ch = this.channel = await this.open(this.direction);
    } catch (err) {
      this.stdout.end();
      this.stdin?.destroy();
      const msg = (err as Error).message;
      return {
        exitCode: undefined,
        signal: undefined,
        stderrTail: msg,
        startError: msg,
        cancelled: this.cancelled,
        where: this.opts.where,
      };
    }
    if (this.killedFor) ch.kill();
    const counts = { out: 0, err: 0 };
    const stderrDone = this.tail.drain(ch.stderr);
    ch.stderr.on('data', (c: Buffer) => (counts.err += c.length));
    ch.stdin.on('error', () => undefined); // a remote side that stops reading shows in its exit status
    ch.stdin.write(this.header);
    if (this.stdin) this.stdin.pipe(ch.stdin);
    else ch.stdin.end();
    this.armIdle();
    ch.stdout.on('data', (c: Buffer) => {
      counts.out += c.length;
      this.armIdle();
    });
    // pipeline, not pipe: a channel stream that breaks must break the caller's stream too, never leave it open.
    pipeline(ch.stdout, this.stdout, () => undefined);
    const exit = await Promise.race([ch.exit, this.givenUp]);
    const held = await drainBounded(ch, counts, stderrDone);
    clearTimeout(this.idle);
    clearTimeout(this.deadline);
    return this.result(exit, held);
  }

  private result(exit: Awaited<Channel['exit']>, held: boolean): ExitResult {
    const parsed = parseTrailer(this.tail.text());
    this.trailer = parsed.trailer;
    const heldNote = held
      ? `the output of ${this.opts.where} was held open after the command exited; it was cut`
      : undefined;
    const startError = this.killedFor ?? exit.error ?? heldNote ?? channelFailure(exit, this.trailer);
    return {
      exitCode: startError ? undefined : exit.code,
      signal: exit.signal,
      stderrTail: startError ? `${parsed.rest.trim()}\n${startError}`.trim() : parsed.rest,
      startError,
      cancelled: this.cancelled,
      where: this.opts.where,
    };
  }
}

/** Waits for stderr (the trailer) to end after the remote process exited; pipes held open are killed, then cut. */
async function drainBounded(
  ch: Channel,
  counts: { out: number; err: number },
  stderrDone: Promise<void>,
): Promise<boolean> {
  let cutTimer: NodeJS.Timeout | undefined;
  let held = false;
  const stop = watchLinger(
    [
      { stream: ch.stdout, bytes: () => counts.out },
      { stream: ch.stderr, bytes: () => counts.err },
    ],
    () => {
      held = true;
      ch.kill();
      cutTimer = setTimeout(() => {
        for (const s of [ch.stdout, ch.stderr])
          if (!s.destroyed) s.destroy(new Error('the remote output was held open after the command exited'));
      }, CUT_AFTER_MS);
    },
  );
  await stderrDone;
  stop();
  clearTimeout(cutTimer);
  return held;
}

/**
 * A non-zero exit without the wrapper's trailer, or one that differs from the trailer's rc, is the channel's own
 * failure (kubectl: pod not found, unauthorized, connection refused, upgrade failed; a pod killed as a whole), not
 * the command's: the wrapper reports the command's status in its trailer.
 */
function channelFailure(exit: { code?: number | undefined }, trailer: Trailer | undefined): string | undefined {
  if (exit.code === undefined || exit.code === 0 || trailer?.rc === exit.code) return undefined;
  const signal = signalOfExitCode(exit.code);
  const code = `${exit.code}${signal ? ` (128 + ${exit.code - 128}: ${signal})` : ''}`;
  return trailer
    ? `the command exited ${trailer.rc}, but the channel exited ${code}`
    : `the channel exited ${code} before the command reported its status`;
}
