// End to end for compressed artifacts: every stored chunk is also fed to a decompressor on the way, and the bytes
// that come back must be exactly what the producer wrote (count and sha256) before the upload may complete. A
// compressor that exits 0 with short or wrong output therefore fails the backup instead of storing it.

import { Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { IntegrityError, messageOf } from '../domain/errors.js';
import type { Stage } from './compress.js';
import { HashCounter, type Digest } from './hash.js';

export interface RoundTrip {
  /** Goes between the compressor and the store: passes every chunk on after the decompressor took it. */
  tee: Transform;
  /** What the decompressor gave back, once the stored stream ended; rejects when it failed. */
  result: Promise<Digest>;
  kill(): void;
}

export function roundTrip(stage: Stage): RoundTrip {
  const back = new HashCounter();
  const discard = new Writable({ write: (_c, _e, cb) => cb() });
  const drained = pipeline(stage.stream, back, discard);
  const result = Promise.all([drained, stage.done]).then(
    () => back.digest(),
    (err: unknown) => {
      throw new IntegrityError(
        `the stored stream does not decompress (the round-trip check failed): ${messageOf(err)}`,
        {
          hint: 'the compressor produced broken output although it exited 0; nothing was stored (check the compressor on this machine)',
        },
      );
    },
  );
  result.catch(() => undefined); // awaited by the verdict; never an unhandled rejection
  const input = stage.stream;
  const tee = new Transform({
    highWaterMark: 1024 * 1024,
    transform(chunk: Buffer, _enc, cb: TransformCallback): void {
      if (input.destroyed || input.writableEnded) return cb(new Error('the round-trip decompressor stopped early'));
      if (input.write(chunk)) return cb(null, chunk);
      const onDrain = (): void => settle(null);
      const onClose = (): void => settle(new Error('the round-trip decompressor stopped early'));
      const settle = (err: Error | null): void => {
        input.off('drain', onDrain);
        input.off('close', onClose);
        cb(err, err ? undefined : chunk);
      };
      input.once('drain', onDrain);
      input.once('close', onClose);
    },
    flush(cb: TransformCallback): void {
      input.end();
      cb();
    },
  });
  return { tee, result, kill: () => stage.kill() };
}

/** Why what came back differs from what the producer wrote, or undefined when it is the same. */
export function roundTripProblem(raw: Digest, back: Digest): string | undefined {
  if (raw.bytes === back.bytes && raw.sha256 === back.sha256) return undefined;
  return `the compressed stream decompresses to ${back.bytes} bytes (sha256 ${back.sha256.slice(0, 12)}…), but the producer wrote ${raw.bytes} (sha256 ${raw.sha256.slice(0, 12)}…)`;
}
