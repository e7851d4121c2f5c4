// The shared ObjectStore contract suite: every storage backend must pass it unchanged.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { NotFoundError, StorageError } from '../../src/domain/errors.js';
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

/** What a store promises beyond the common contract; each store's test file states it. */
export interface StorePromises {
  /** Bytes above which put needs more than one part. */
  multipartBytes: number;
  /** The encryption every write gets, as put, putBytes and head report it. */
  encryption: { sse: string; kmsKeyId: string | undefined };
  /** The storage class head reports for a fresh object (undefined: the store has none). */
  storageClass: string | undefined;
  /** Versions kept (a versioned bucket): writes get version ids, delete leaves a marker, purge removes them all. */
  versioned: boolean;
  /** Objects carry an ETag that changes with their content. */
  etags: boolean;
  /** How requestRestore of an object that is not archived is refused (the store's own words). */
  restoreRefusal: RegExp;
  /** What maxPutBytes answers for an unknown size and for a 1 GiB estimate (undefined: no limit). */
  maxPutBytes: { unknown: number | undefined; oneGiB: number | undefined };
  /** Counts the versions and delete markers at `key` without going through the store under test. */
  versionsAt: (store: ObjectStore, key: string) => Promise<number>;
}

export function objectStoreSuite(name: string, make: () => Promise<ObjectStore>, opts: StorePromises): void {
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

    it('maxPutBytes says how much one put may carry as one object (flat memory: never more than the budget allows)', async () => {
      const store = await make();
      assert.equal(store.maxPutBytes(undefined), opts.maxPutBytes.unknown);
      assert.equal(store.maxPutBytes(1024 ** 3), opts.maxPutBytes.oneGiB);
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
      const back = createHash('sha256')
        .update(await readAll(await store.get('big/object.bin')))
        .digest('hex');
      assert.equal(back, hash.digest('hex'));
    });

    it('a body that errors leaves nothing at the key (small and multipart)', async () => {
      const store = await make();
      await assert.rejects(store.put('fail/small.bin', failingStream([randomBytes(1000)])));
      await assert.rejects(
        store.put(
          'fail/large.bin',
          failingStream(
            Array.from({ length: Math.ceil(opts.multipartBytes / 1048576) + 2 }, () => randomBytes(1048576)),
          ),
        ),
      );
      assert.equal(await store.head('fail/small.bin'), undefined);
      assert.equal(await store.head('fail/large.bin'), undefined);
      assert.deepEqual(
        (await store.list('fail/')).map((o) => o.key),
        [],
      );
    });

    it('listWithUnfinished: completed and failed writes leave nothing unfinished; complete objects as list', async () => {
      const store = await make();
      await store.putBytes('u/done', 'complete');
      await assert.rejects(store.put('u/failed', failingStream([Buffer.alloc(1000, 1)])));
      const l = await store.listWithUnfinished('u/');
      assert.deepEqual(l.unfinished, []);
      assert.deepEqual(
        l.objects.map((o) => o.key),
        ['u/done'],
      );
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
      assert.deepEqual(
        (await store.list('l/x/')).map((o) => o.key),
        ['l/x/1.txt', 'l/x/2.txt'],
      );
      assert.deepEqual(
        (await store.list('l/')).map((o) => o.key),
        ['l/x/1.txt', 'l/x/2.txt', 'l/y/3.txt'],
      );
      assert.deepEqual((await store.list('nothing/')).length, 0);
    });

    it('get and getBytes of a missing key reject with NotFoundError; head gives undefined', async () => {
      const store = await make();
      await assert.rejects(store.getBytes('missing/key'), NotFoundError);
      await assert.rejects(store.get('missing/key'), NotFoundError);
      assert.equal(await store.head('missing/key'), undefined);
    });

    it('delete removes and is idempotent (a versioned store keeps the old version behind a delete marker)', async () => {
      const store = await make();
      await store.putBytes('d/x.txt', 'x');
      await store.delete('d/x.txt');
      await store.delete('d/x.txt');
      await store.delete('d/never-written.txt');
      assert.equal(await store.head('d/x.txt'), undefined);
      await assert.rejects(store.getBytes('d/x.txt'), NotFoundError);
      const left = await opts.versionsAt(store, 'd/x.txt');
      assert.ok(opts.versioned ? left >= 2 : left === 0, `${left} versions and delete markers left`);
    });

    encryptionAndMetadata(make, opts);
    purgeAndVersions(make, opts);

    it('requestRestore of an object that is not archived is refused with a StorageError naming the key', async () => {
      const store = await make();
      await store.putBytes('g/not-archived.txt', 'x');
      await assert.rejects(store.requestRestore('g/not-archived.txt', 1, 'Standard'), (err: Error) => {
        assert.ok(err instanceof StorageError, `${err.name}: ${err.message}`);
        assert.match(err.message, /g\/not-archived\.txt/);
        assert.match(err.message, opts.restoreRefusal);
        return true;
      });
      assert.equal((await store.getBytes('g/not-archived.txt')).toString(), 'x', 'the object stays readable');
    });
  });
}

/** put and putBytes: the store's encryption, storage class and ETag, as the result and head report them. */
function encryptionAndMetadata(make: () => Promise<ObjectStore>, opts: StorePromises): void {
  it("put and putBytes store with the store's encryption; the result and head report it", async () => {
    const store = await make();
    const small = await store.putBytes('e/manifest.json', '{"a":1}');
    const streamed = await store.put('e/artifact.bin', Readable.from([randomBytes(70_000)]));
    for (const [key, r, bytes] of [
      ['e/manifest.json', small, 7],
      ['e/artifact.bin', streamed, 70_000],
    ] as const) {
      assert.deepEqual(
        [r.key, r.bytes, r.sse, r.kmsKeyId],
        [key, bytes, opts.encryption.sse, opts.encryption.kmsKeyId],
        key,
      );
      const h = await store.head(key);
      assert.deepEqual(
        [h?.bytes, h?.sse, h?.kmsKeyId, h?.storageClass],
        [bytes, opts.encryption.sse, opts.encryption.kmsKeyId, opts.storageClass],
        key,
      );
      assert.equal(h?.restore, undefined);
      assert.equal(r.etag, h?.etag, `${key}: the ETag of the write is the stored one`);
      assert.equal(h?.etag !== undefined, opts.etags, `${key}: ETag ${h?.etag}`);
    }
    assert.equal((await store.getBytes('e/manifest.json')).toString(), '{"a":1}');
  });

  it('putBytes replaces an object only on success: a cancelled putBytes leaves the old one, or nothing', async () => {
    const store = await make();
    const one = await store.putBytes('r/x.json', 'one');
    const two = await store.putBytes('r/x.json', 'two');
    assert.equal((await store.getBytes('r/x.json')).toString(), 'two');
    if (opts.etags) assert.notEqual(two.etag, one.etag, 'the ETag changes with the content');
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await assert.rejects(store.putBytes('r/x.json', 'three', { signal: ac.signal }), /stop/);
    await assert.rejects(store.putBytes('r/new.json', 'three', { signal: ac.signal }), /stop/);
    assert.equal((await store.getBytes('r/x.json')).toString(), 'two');
    assert.equal(await store.head('r/new.json'), undefined);
    assert.deepEqual(
      (await store.list('r/')).map((o) => o.key),
      ['r/x.json'],
    );
  });
}

/** purge removes every version and delete marker of exactly one key; delete of one version leaves the others. */
function purgeAndVersions(make: () => Promise<ObjectStore>, opts: StorePromises): void {
  it('purge removes every version and delete marker of that key, and nothing of its neighbours', async () => {
    const store = await make();
    for (const v of ['a', 'b', 'c']) await store.putBytes('p/live', v);
    for (const v of ['a', 'b']) await store.putBytes('p/gone', v);
    await store.delete('p/gone');
    await store.putBytes('p/live2', 'neighbour'); // listed by the prefix p/live, not the same key
    assert.equal(await store.purge('p/live'), opts.versioned ? 3 : 1);
    assert.equal(await store.purge('p/gone'), opts.versioned ? 3 : 0, 'two versions and the delete marker');
    for (const key of ['p/live', 'p/gone']) {
      assert.equal(await store.head(key), undefined, key);
      assert.equal(await opts.versionsAt(store, key), 0, `${key}: versions or markers left`);
      assert.equal(await store.purge(key), 0, `${key}: purge is idempotent`);
    }
    assert.equal(await store.purge('p/never-written'), 0);
    assert.equal((await store.getBytes('p/live2')).toString(), 'neighbour');
  });

  if (!opts.versioned) return;
  it('versioned: every write gets its own version id; delete of one version leaves the others', async () => {
    const store = await make();
    const v1 = await store.putBytes('v/x', 'one');
    const v2 = await store.putBytes('v/x', 'two');
    assert.ok(
      v1.versionId && v2.versionId && v1.versionId !== v2.versionId,
      `version ids ${v1.versionId} ${v2.versionId}`,
    );
    assert.equal((await store.head('v/x'))?.versionId, v2.versionId);
    await store.delete('v/x', v1.versionId);
    await store.delete('v/x', v1.versionId);
    assert.equal(await opts.versionsAt(store, 'v/x'), 1);
    assert.equal((await store.getBytes('v/x')).toString(), 'two');
    await store.delete('v/x', v2.versionId);
    assert.equal(await store.head('v/x'), undefined, 'the last version removed by id leaves no object (and no marker)');
    assert.equal(await opts.versionsAt(store, 'v/x'), 0);
  });
}
