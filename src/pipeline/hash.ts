// Stream stages that count bytes and compute sha256; the gate variant holds the end of the stream until a verdict.

import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export interface Digest {
  bytes: number;
  sha256: string;
}

/** Counts and hashes everything that passes through. */
export class HashCounter extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private count = 0;
  private final: Digest | undefined;
  /** The first bytes seen (up to 16), for format checks such as a dump's magic number. */
  head = Buffer.alloc(0);

  constructor(private readonly onBytes?: (bytes: number) => void) {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    if (this.head.length < 16) this.head = Buffer.concat([this.head, chunk.subarray(0, 16 - this.head.length)]);
    this.count += chunk.length;
    this.onBytes?.(this.count);
    cb(null, chunk);
  }

  /** The digest of everything seen; only valid after the input ended. */
  digest(): Digest {
    if (!this.final) this.final = { bytes: this.count, sha256: this.hash.digest('hex') };
    return this.final;
  }

  override _flush(cb: TransformCallback): void {
    this.digest();
    cb();
  }
}

/**
 * Hashes like HashCounter, but does not end its readable side until `verdict(digest)` resolves; if it rejects,
 * the stream errors instead of ending. A consumer such as an S3 upload therefore never sees a clean end of a
 * stream whose producer failed.
 */
export class HashGate extends HashCounter {
  constructor(
    private readonly verdict: (digest: Digest) => Promise<void>,
    onBytes?: (bytes: number) => void,
  ) {
    super(onBytes);
  }

  override _flush(cb: TransformCallback): void {
    const d = this.digest();
    this.verdict(d).then(
      () => cb(),
      (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
    );
  }
}
