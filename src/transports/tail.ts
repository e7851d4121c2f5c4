// Keeps the last N bytes of a stream as text (stderr tails for error messages).

import type { Readable } from 'node:stream';

export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit = 8192) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit && this.chunks.length > 1) {
      this.size -= (this.chunks.shift() as Buffer).length;
    }
  }

  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.limit)).toString('utf8');
  }

  /** Collects a stream into the buffer; resolves when it ends or errors. */
  drain(stream: Readable | null | undefined): Promise<void> {
    if (!stream) return Promise.resolve();
    return new Promise((resolve) => {
      stream.on('data', (c: Buffer) => this.push(c));
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });
  }
}
