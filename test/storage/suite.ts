// The shared ObjectStore contract suite: every storage backend must pass it unchanged.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { NotFoundError } from '../../src/domain/errors.js';
import type { ObjectStore } from '../../src/storage/store.js';

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A stream that yields `chunks` and then fails instead of ending. */
function failingStream(chunks: Buffer[]): Readable {
  let i = 0;
  return new Readable({
    read() {
      if (i < chunks.length) this.push(chunks[i++]);
      else this.destroy(new Error('producer failed'));
    },
  });
}

export function objectStoreSuite(name: string, make: () => Promise<ObjectStore>, opts: { multipartBytes: number }): void {
  describe(`ObjectStore contract: ${name}`, () => {
    it('put then get returns the same bytes and head reports the size', async () => {
      const store = await make();
      const data = randomBytes(300_000);
      const r = await store.put('a/b/one.bin', Readable.from([data]));
      assert.equal(r.bytes, data.length);
      assert.deepEqual(await readAll(await store.get('a/b/one.bin')), data);
      const h = await store.head('a/b/one.bin');
      assert.equal(h?.bytes, data.length);
    });

    it('streams an object larger than one multipart part intact', async () => {
      const store = await make();
      const part = randomBytes(1024 * 1024);
      const count = Math.ceil(opts.multipartBytes / part.length) + 1;
      const hash = createHash('sha256');
      const chunks = Array.from({ length: count }, (_, i) => {
        const c = Buffer.from(part);
        c.writeUInt32BE(i, 0);
        hash.update(c);
        return c;
      });
      const r = await store.put('big/object.bin', Readable.from(chunks), { sizeEstimate: count * part.length });
      assert.equal(r.bytes, count * part.length);
      const back = createHash('sha256').update(await readAll(await store.get('big/object.bin'))).digest('hex');
      assert.equal(back, hash.digest('hex'));
    });

    it('a body that errors leaves nothing at the key (small and multipart)', async () => {
      const store = await make();
      await assert.rejects(store.put('fail/small.bin', failingStream([randomBytes(1000)])));
      await assert.rejects(
        store.put('fail/large.bin', failingStream(Array.from({ length: Math.ceil(opts.multipartBytes / 1048576) + 2 }, () => randomBytes(1048576)))),
      );
      assert.equal(await store.head('fail/small.bin'), undefined);
      assert.equal(await store.head('fail/large.bin'), undefined);
      assert.deepEqual((await store.list('fail/')).map((o) => o.key), []);
    });

    it('an aborted put leaves nothing at the key', async () => {
      const store = await make();
      const ac = new AbortController();
      let sent = 0;
      const body = new Readable({
        read() {
          sent++;
          if (sent === 3) ac.abort(new Error('stop'));
          this.push(randomBytes(256 * 1024));
        },
      });
      await assert.rejects(store.put('aborted/x.bin', body, { signal: ac.signal }));
      assert.equal(await store.head('aborted/x.bin'), undefined);
    });

    it('a failed put does not replace an existing object', async () => {
      const store = await make();
      await store.putBytes('keep/x.txt', 'original');
      await assert.rejects(store.put('keep/x.txt', failingStream([Buffer.from('new')])));
      assert.equal((await store.getBytes('keep/x.txt')).toString(), 'original');
    });

    it('list returns keys under a prefix in order, without partial objects', async () => {
      const store = await make();
      await store.putBytes('l/x/2.txt', 'b');
      await store.putBytes('l/x/1.txt', 'a');
      await store.putBytes('l/y/3.txt', 'c');
      await store.putBytes('lx/4.txt', 'd');
      assert.deepEqual((await store.list('l/x/')).map((o) => o.key), ['l/x/1.txt', 'l/x/2.txt']);
      assert.deepEqual((await store.list('l/')).map((o) => o.key), ['l/x/1.txt', 'l/x/2.txt', 'l/y/3.txt']);
      assert.deepEqual((await store.list('nothing/')).length, 0);
    });

    it('get and getBytes of a missing key reject with NotFoundError; head gives undefined', async () => {
      const store = await make();
      await assert.rejects(store.getBytes('missing/key'), NotFoundError);
      await assert.rejects(store.get('missing/key'), NotFoundError);
      assert.equal(await store.head('missing/key'), undefined);
    });

    it('delete removes and is idempotent', async () => {
      const store = await make();
      await store.putBytes('d/x.txt', 'x');
      await store.delete('d/x.txt');
      await store.delete('d/x.txt');
      assert.equal(await store.head('d/x.txt'), undefined);
    });
  });
}
