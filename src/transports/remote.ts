// Shared plumbing for remote transports: runs the wrapper over a channel (SSH exec, kubectl exec), sends the env
// header, collects the trailer, enforces an idle timeout, and exposes it all as a RunningCommand.

import { PassThrough, type Readable, type Writable } from 'node:stream';
import { signalOfExitCode } from '../domain/errors.js';
import { TailBuffer } from './tail.js';
import type { CommandSpec, ExitResult, RunningCommand } from './transport.js';
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
}

export function remoteCommand(spec: CommandSpec, open: (direction: 'out' | 'in') => Promise<Channel>, opts: RemoteOptions): RunningCommand {
  const direction: 'out' | 'in' = spec.stdin === 'pipe' ? 'in' : 'out';
  const name = (spec.argv[0] ?? '?').split('/').pop() ?? '?';
  const header = envHeader(spec.env); // throws on unusable values before anything starts
  const stdout = new PassThrough({ highWaterMark: 1024 * 1024 });
  const stdin = direction === 'in' ? new PassThrough({ highWaterMark: 1024 * 1024 }) : undefined;
  const tail = new TailBuffer();
  let channel: Channel | undefined;
  let killedFor: string | undefined;
  let trailer: Trailer | undefined;

  const kill = (reason?: string): void => {
    killedFor ??= reason ?? 'stopped by igbackup';
    channel?.kill();
    stdin?.destroy();
  };

  let idle: NodeJS.Timeout | undefined;
  const armIdle = (): void => {
    if (direction !== 'out') return;
    clearTimeout(idle);
    idle = setTimeout(() => kill(`no data from ${opts.where} for ${Math.round(opts.idleTimeoutMs / 1000)} s (idle timeout)`), opts.idleTimeoutMs);
    idle.unref?.();
  };

  const done: Promise<ExitResult> = (async () => {
    try {
      channel = await open(direction);
    } catch (err) {
      stdout.end();
      stdin?.destroy();
      const msg = (err as Error).message;
      return { exitCode: undefined, signal: undefined, stderrTail: msg, startError: msg, where: opts.where };
    }
    if (killedFor) channel.kill();
    const stderrDone = tail.drain(channel.stderr);
    channel.stdin.on('error', () => undefined); // a remote side that stops reading shows in its exit status
    channel.stdin.write(header);
    if (stdin) stdin.pipe(channel.stdin);
    else channel.stdin.end();
    armIdle();
    channel.stdout.on('data', armIdle);
    const stdoutDone = new Promise<void>((resolve) => {
      channel?.stdout.once('end', resolve);
      channel?.stdout.once('close', resolve);
      channel?.stdout.once('error', () => resolve());
    });
    channel.stdout.pipe(stdout);
    const exit = await channel.exit;
    await Promise.race([Promise.all([stderrDone, stdoutDone]), new Promise((r) => setTimeout(r, 5000).unref())]);
    clearTimeout(idle);
    const parsed = parseTrailer(tail.text());
    trailer = parsed.trailer;
    const startError = killedFor ?? exit.error ?? channelFailure(exit, trailer);
    return {
      exitCode: startError ? undefined : exit.code,
      signal: exit.signal,
      stderrTail: startError ? `${parsed.rest.trim()}\n${startError}`.trim() : parsed.rest,
      startError,
      where: opts.where,
    };
  })();

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

/**
 * A non-zero exit without the wrapper's trailer, or one that differs from the trailer's rc, is the channel's own
 * failure (kubectl: pod not found, unauthorized, connection refused, upgrade failed; a pod killed as a whole), not
 * the command's: the wrapper reports the command's status in its trailer.
 */
function channelFailure(exit: { code?: number | undefined }, trailer: Trailer | undefined): string | undefined {
  if (exit.code === undefined || exit.code === 0 || trailer?.rc === exit.code) return undefined;
  const signal = signalOfExitCode(exit.code);
  const code = `${exit.code}${signal ? ` (128 + ${exit.code - 128}: ${signal})` : ''}`;
  return trailer ? `the command exited ${trailer.rc}, but the channel exited ${code}` : `the channel exited ${code} before the command reported its status`;
}
