// Compression stages: zstd (multi-threaded child process on the runner), gzip (zlib), none.

import { createGunzip, createGzip } from 'node:zlib';
import { Duplex, PassThrough } from 'node:stream';
import type { Compression } from '../domain/compression.js';
import { ProcessFailedError } from '../domain/errors.js';
import { succeeded, type Transport } from '../transports/transport.js';

export interface Stage {
  stream: Duplex;
  /** Resolves when the stage finished cleanly; rejects with the reason otherwise. */
  done: Promise<void>;
  kill(): void;
  /** Set when the stage passes bytes through unchanged (no compression): its output is its input. */
  identity?: boolean | undefined;
}

export interface ZstdOptions {
  level: number;
  /** 0 = one thread per core. */
  threads: number;
}

export function compressStage(kind: Compression, runner: Transport, zstd: ZstdOptions): Stage {
  if (kind === 'zstd') return zstdStage(runner, ['-q', `-${zstd.level}`, `-T${zstd.threads}`, '-c']);
  if (kind === 'gzip') return zlibStage(createGzip({ level: 6 }));
  return { ...zlibStage(new PassThrough({ highWaterMark: 1024 * 1024 })), identity: true };
}

export function decompressStage(kind: Compression, runner: Transport): Stage {
  if (kind === 'zstd') return zstdStage(runner, ['-q', '-d', '-c']);
  if (kind === 'gzip') return zlibStage(createGunzip());
  return { ...zlibStage(new PassThrough({ highWaterMark: 1024 * 1024 })), identity: true };
}

function zstdStage(runner: Transport, args: string[]): Stage {
  const cmd = runner.start({ argv: ['zstd', ...args], stdin: 'pipe' });
  const stdin = cmd.stdin;
  if (!stdin) throw new Error('zstd started without stdin');
  const stream = Duplex.from({ writable: stdin, readable: cmd.stdout });
  // A killed zstd breaks both pipes (ERR_STREAM_PREMATURE_CLOSE); its exit status is reported through `done`, and the
  // pipeline using the stream has its own listener: a stray stream error must never crash the process.
  stream.on('error', () => undefined);
  const done = cmd.done.then((r) => {
    if (r.cancelled) throw r.cancelled;
    if (!succeeded(r)) {
      throw new ProcessFailedError('zstd', r, {
        hint: r.startError ? 'install zstd or choose --compression gzip' : '',
      });
    }
  });
  done.catch(() => undefined); // observed by whoever awaits it; never an unhandled rejection
  return {
    stream,
    done,
    kill: () => {
      cmd.kill();
      stream.destroy();
    },
  };
}

function zlibStage(stream: Duplex): Stage {
  const done = new Promise<void>((resolve, reject) => {
    let ended = false;
    stream.once('end', () => {
      ended = true;
      resolve();
    });
    stream.once('error', reject);
    // destroy() without an error emits only 'close': that is not a clean end.
    stream.once('close', () => {
      if (!ended) reject(new Error('compression stage stopped before the end of its input'));
    });
  });
  done.catch(() => undefined);
  return { stream, done, kill: () => stream.destroy() };
}
