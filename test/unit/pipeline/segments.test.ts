// Artifacts stored in segments (pipeline/segments.ts) on the real file store, and through the backup pipeline with a
// real producer: cut at the limit, read back whole, every segment removed when the backup fails after some completed.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { ConfigError, IntegrityError, NotFoundError, ProcessFailedError } from '../../../src/domain/errors.js';
import { MAX_SEGMENTS } from '../../../src/domain/parts.js';
import { segmentKey } from '../../../src/domain/keys.js';
import { streamToStore } from '../../../src/pipeline/backup-stream.js';
import { compressStage } from '../../../src/pipeline/compress.js';
import { downloadVerified } from '../../../src/pipeline/restore-stream.js';
import { putSegmented, readSegments } from '../../../src/pipeline/segments.js';
import { FileStore } from '../../../src/storage/file.js';
import { LocalTransport } from '../../../src/transports/local.js';
import { ROOT } from '../../helpers/cli.js';
import { scratchDir } from '../../helpers/tmp.js';

const PRODUCER = join(ROOT, 'test', 'fixtures', 'bin', 'producer');
const local = new LocalTransport();
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function segmented(limit: number): Promise<{ store: FileStore; dir: string }> {
  const dir = await scratchDir('igb-seg-');
  return { store: new FileStore(dir, '', limit), dir };
}

/** `n` bytes in chunks of `chunk` (the cut must not depend on where chunks end). */
function body(n: number, chunk = 7): { data: Buffer; stream: Readable } {
  const data = Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + 7) % 251));
  const parts: Buffer[] = [];
  for (let i = 0; i < n; i += chunk) parts.push(data.subarray(i, i + chunk));
  return { data, stream: Readable.from(parts) };
}

async function readAll(r: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of r) out.push(c as Buffer);
  return Buffer.concat(out);
}

describe('putSegmented', () => {
  it('stores one object when the body fits, with no segment list', async () => {
    const { store } = await segmented(100);
    const { data, stream } = body(100);
    const r = await putSegmented(store, 'a/x', stream);
    assert.equal(r.segments, undefined);
    assert.equal(r.bytes, 100);
    assert.deepEqual(await store.getBytes('a/x'), data);
    assert.deepEqual(
      (await store.list('a/')).map((o) => o.key),
      ['a/x'],
    );
  });

  for (const [n, expected] of [
    [101, [100, 1]],
    [250, [100, 100, 50]],
    [300, [100, 100, 100]],
  ] as const) {
    it(`cuts ${n} bytes at 100 into ${expected.join(' + ')}, each at its own key and sha256, read back whole`, async () => {
      const { store } = await segmented(100);
      const { data, stream } = body(n);
      const r = await putSegmented(store, 'a/x', stream);
      assert.equal(r.bytes, n);
      assert.deepEqual(
        r.segments?.map((s) => s.bytes),
        [...expected],
      );
      assert.deepEqual(
        r.segments?.map((s) => s.key),
        expected.map((_, i) => (i === 0 ? 'a/x' : segmentKey('a/x', i + 1))),
      );
      let at = 0;
      for (const s of r.segments ?? []) {
        assert.equal(s.sha256, sha(data.subarray(at, at + s.bytes)));
        at += s.bytes;
      }
      assert.deepEqual(await readAll(readSegments(store, r.segments ?? [])), data);
    });
  }

  it('an empty body is one empty object', async () => {
    const { store } = await segmented(10);
    const r = await putSegmented(store, 'a/empty', Readable.from([]));
    assert.equal(r.bytes, 0);
    assert.equal(r.segments, undefined);
    assert.equal((await store.head('a/empty'))?.bytes, 0);
  });

  it('a body that fails in its third segment leaves nothing: the two completed segments are removed and the error says so', async () => {
    const { store } = await segmented(100);
    const failing = Readable.from(
      (async function* () {
        for (let i = 0; i < 25; i++) yield Buffer.alloc(10, i);
        throw new Error('producer died');
      })(),
    );
    await assert.rejects(putSegmented(store, 'a/x', failing), (err: Error) => {
      assert.match(err.message, /producer died/);
      assert.match(err.message, /a\/x had been stored completely and was removed/);
      assert.match(err.message, /a\/x\.seg-0002 had been stored completely and was removed/);
      return true;
    });
    assert.deepEqual(await store.list(''), []);
  });
});

describe('putSegmented limits', () => {
  it('refuses more segments than a manifest can list (exit 2 naming segmentMiB), leaving nothing', async () => {
    const { store } = await segmented(1);
    await assert.rejects(
      putSegmented(store, 'a/x', body(MAX_SEGMENTS + 1, 500).stream),
      (e: Error) =>
        e instanceof ConfigError && /needs more than 3000 segments/.test(e.message) && /segmentMiB/.test(e.hint ?? ''),
    );
    assert.deepEqual(await store.list(''), []);
  });
});

describe('readSegments', () => {
  it('names a segment that is short, replaced or missing (IntegrityError, NotFoundError)', async () => {
    const { store, dir } = await segmented(100);
    const r = await putSegmented(store, 'a/x', body(250).stream);
    const segs = r.segments ?? [];
    await writeFile(join(dir, 'a', 'x.seg-0002'), Buffer.alloc(100, 1));
    await assert.rejects(
      readAll(readSegments(store, segs)),
      (e: Error) =>
        e instanceof IntegrityError && /segment a\/x\.seg-0002 does not match its manifest: sha256/.test(e.message),
    );
    await writeFile(join(dir, 'a', 'x.seg-0002'), Buffer.alloc(60, 1));
    await assert.rejects(readAll(readSegments(store, segs)), /segment a\/x\.seg-0002 .*60 bytes, manifest says 100/);
    await store.delete(segmentKey('a/x', 3));
    await writeFile(join(dir, 'a', 'x.seg-0002'), Buffer.alloc(0));
    await assert.rejects(readAll(readSegments(store, [segs[0]!, segs[2]!])), (e: Error) => e instanceof NotFoundError);
  });
});

describe('the backup pipeline with segments', () => {
  it("stores a producer's output in segments that a verified download puts back together", async () => {
    const { store, dir } = await segmented(64 * 1024);
    const r = await streamToStore({
      producer: local.start({ argv: [PRODUCER, '300', '0'] }),
      compression: compressStage('none', local, { level: 3, threads: 0 }),
      store,
      key: 'p/dump',
      proof: 'identity',
    });
    assert.equal(r.raw.bytes, 300 * 1024);
    assert.equal(r.put.segments?.length, 5);
    const path = join(dir, 'back');
    const got = await downloadVerified(store, 'p/dump', path, { ...r.stored, segments: r.put.segments });
    assert.deepEqual(got, r.raw);
  });

  it('a producer failing after several segments were stored leaves no segment and no object', async () => {
    const { store } = await segmented(64 * 1024);
    await assert.rejects(
      streamToStore({
        // Writes 300 KiB (four segments complete), then fails.
        producer: local.start({
          argv: ['sh', '-c', 'head -c 307200 /dev/zero; sleep 0.5; echo out of disk >&2; exit 3'],
        }),
        compression: compressStage('none', local, { level: 3, threads: 0 }),
        store,
        key: 'p/dump',
        proof: 'identity',
      }),
      (err: Error) =>
        err instanceof ProcessFailedError &&
        /out of disk/.test(err.message) &&
        /seg-0004 had been stored completely and was removed/.test(err.message),
    );
    assert.deepEqual(await store.list(''), []);
  });
});
