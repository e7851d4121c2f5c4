// A pass-through stream that counts the bytes flowing through it.

import { Transform, type TransformCallback } from 'node:stream';

export class ByteCounter extends Transform {
  bytes = 0;
  constructor(private readonly onBytes?: (total: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    this.onBytes?.(this.bytes);
    cb(null, chunk);
  }
}
