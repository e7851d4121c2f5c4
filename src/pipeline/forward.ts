// A writable that forwards into another stream while it is healthy and discards once it failed, so an upstream
// hash can always finish (a corrupt download must be reported as a checksum mismatch, not as a decompressor error).

import { Writable, type Duplex } from 'node:stream';

export class ForwardUnlessFailed extends Writable {
  private failed = false;

  constructor(private readonly target: Duplex) {
    super({ highWaterMark: 1024 * 1024 });
    target.once('error', () => {
      this.failed = true;
    });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.failed || this.target.destroyed) return cb();
    if (this.target.write(chunk)) return cb();
    const done = (): void => {
      this.target.off('drain', done);
      this.target.off('error', done);
      this.target.off('close', done);
      cb();
    };
    this.target.once('drain', done);
    this.target.once('error', done);
    this.target.once('close', done);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (!this.failed && !this.target.destroyed) this.target.end();
    cb();
  }
}
