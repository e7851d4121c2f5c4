// Shared plumbing for remote transports: runs the wrapper over a channel (SSH exec, kubectl exec), sends the env
// header, collects the trailer, enforces an idle timeout, and exposes it all as a RunningCommand. Every wait is
// bounded: a killed channel that does not end, or pipes held open after the remote process exited, are cut.

import { PassThrough, pipeline, type Readable, type Writable } from 'node:stream';
import { KILL_GRACE_MS } from './child.js';
import { watchLinger } from './linger.js';
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

export function remoteCommand(spec: CommandSpec, open: (direction: 'out' | 'in') => Promise<Channel>, opts: RemoteOptions): RunningCommand {
  const direction: 'out' | 'in' = spec.stdin === 'pipe' ? 'in' : 'out';
  const name = (spec.argv[0] ?? '?').split('/').pop() ?? '?';
  const header = envHeader(spec.env); // throws on unusable values before anything starts
  const stdout = new PassThrough({ highWaterMark: 1024 * 1024 });
  const stdin = direction === 'in' ? new PassThrough({ highWaterMark: 1024 * 1024 }) : undefined;
  const tail = new TailBuffer();
  let channel: Channel | undefined;
  let killedFor: string | undefined;
  let cancelled: Error | undefined;
  let trailer: Trailer | undefined;
  let giveUp = (): void => undefined;
  const givenUp = new Promise<Awaited<Channel['exit']>>((resolve) => {
    giveUp = () => resolve({ error: `${opts.where}: the command did not end within ${KILLED_CHANNEL_MS / 1000} s of being stopped` });
  });
  let deadline: NodeJS.Timeout | undefined;

  const kill = (reason?: string): void => {
    killedFor ??= reason ?? 'stopped by igbackup';
    channel?.kill();
    stdin?.destroy();
    deadline ??= setTimeout(giveUp, KILLED_CHANNEL_MS);
  };
  const onAbort = (): void => {
    cancelled = reasonOf(opts.signal);
    kill(`cancelled (${cancelled.message})`);
  };
  if (opts.signal && !opts.signal.aborted) opts.signal.addEventListener('abort', onAbort, { once: true });

  let idle: NodeJS.Timeout | undefined;
  const armIdle = (): void => {
    if (direction !== 'out') return;
    clearTimeout(idle);
    idle = setTimeout(() => kill(`no data from ${opts.where} for ${Math.round(opts.idleTimeoutMs / 1000)} s (idle timeout)`), opts.idleTimeoutMs);
    idle.unref?.();
  };

  const run = async (): Promise<ExitResult> => {
    try {
      channel = await open(direction);
    } catch (err) {
      stdout.end();
      stdin?.destroy();
      const msg = (err as Error).message;
      return { exitCode: undefined, signal: undefined, stderrTail: msg, startError: msg, cancelled };
    }
    const ch = channel;
    if (killedFor) ch.kill();
    const counts = { out: 0, err: 0 };
    const stderrDone = tail.drain(ch.stderr);
    ch.stderr.on('data', (c: Buffer) => (counts.err += c.length));
    ch.stdin.on('error', () => undefined); // a remote side that stops reading shows in its exit status
    ch.stdin.write(header);
    if (stdin) stdin.pipe(ch.stdin);
    else ch.stdin.end();
    armIdle();
    ch.stdout.on('data', (c: Buffer) => {
      counts.out += c.length;
      armIdle();
    });
    // pipeline, not pipe: a channel stream that breaks must break the caller's stream too, never leave it open.
    pipeline(ch.stdout, stdout, () => undefined);
    const exit = await Promise.race([ch.exit, givenUp]);
    const held = await drainBounded(ch, counts, stderrDone);
    clearTimeout(idle);
    clearTimeout(deadline);
    const parsed = parseTrailer(tail.text());
    trailer = parsed.trailer;
    const startError = killedFor ?? exit.error ?? (held ? `the output of ${opts.where} was held open after the command exited; it was cut` : undefined);
    return {
      exitCode: startError ? undefined : exit.code,
      signal: exit.signal,
      stderrTail: startError ? `${parsed.rest.trim()}\n${startError}`.trim() : parsed.rest,
      startError,
      cancelled,
    };
  };
  const done = run().finally(() => opts.signal?.removeEventListener('abort', onAbort));

  return {
    name,
    stdout,
    stdin,
    done,
    kill,
    verify: async (local) => {
      await done;
      checkTrailer(trailer, local, opts.where, direction);
    },
  };
}

/** Waits for stderr (the trailer) to end after the remote process exited; pipes held open are killed, then cut. */
async function drainBounded(ch: Channel, counts: { out: number; err: number }, stderrDone: Promise<void>): Promise<boolean> {
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
        for (const s of [ch.stdout, ch.stderr]) if (!s.destroyed) s.destroy(new Error('the remote output was held open after the command exited'));
      }, CUT_AFTER_MS);
    },
  );
  await stderrDone;
  stop();
  clearTimeout(cutTimer);
  return held;
}
