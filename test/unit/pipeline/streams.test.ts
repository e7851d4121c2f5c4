// The completion gate with real child processes (fixtures) and the file store: complete only if the producer exited 0.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { ProcessFailedError } from '../../../src/domain/errors.js';
import { compressStage, decompressStage } from '../../../src/pipeline/compress.js';
import { feedFile } from '../../../src/pipeline/restore-stream.js';
import { streamToStore } from '../../../src/pipeline/backup-stream.js';
import { HashGate } from '../../../src/pipeline/hash.js';
import { FileStore } from '../../../src/storage/file.js';
import { LocalTransport } from '../../../src/transports/local.js';
import { ROOT } from '../../helpers/cli.js';
import { scratchDir } from '../../helpers/tmp.js';

const PRODUCER = join(ROOT, 'test', 'fixtures', 'bin', 'producer');
const local = new LocalTransport();
const zstd = { level: 3, threads: 0 };

async function store(): Promise<FileStore> {
  return new FileStore(await scratchDir('igb-pipe-'), '');
}

describe('HashGate', () => {
  it('does not end its output until the verdict resolves, and errors when it rejects', async () => {
    let release!: () => void;
    const gate = new HashGate(() => new Promise<void>((r) => (release = r)));
    let ended = false;
    gate.on('end', () => (ended = true));
    gate.resume();
    gate.end(Buffer.from('abc'));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(ended, false);
    release();
    await new Promise((r) => gate.once('end', r));
    assert.equal(gate.digest().sha256, createHash('sha256').update('abc').digest('hex'));

    const failing = new HashGate(async () => {
      throw new Error('producer failed');
    });
    failing.resume();
    failing.end(Buffer.from('x'));
    await assert.rejects(new Promise((_, reject) => failing.once('error', reject)), /producer failed/);
  });
});

describe('streamToStore', () => {
  for (const kind of ['zstd', 'gzip', 'none'] as const) {
    it(`stores a successful producer's output (${kind}) with matching counts and sha256`, async () => {
      const s = await store();
      const r = await streamToStore({
        producer: local.start({ argv: [PRODUCER, '512', '0'] }),
        compression: compressStage(kind, local, zstd),
        store: s,
        key: 'x/ok',
      });
      assert.equal(r.raw.bytes, 512 * 1024);
      const stored = await s.getBytes('x/ok');
      assert.equal(stored.length, r.stored.bytes);
      assert.equal(createHash('sha256').update(stored).digest('hex'), r.stored.sha256);
    });
  }

  it('a producer exiting non-zero after all its output stores nothing and reports its stderr', async () => {
    const s = await store();
    await assert.rejects(
      streamToStore({
        producer: local.start({ argv: [PRODUCER, '256', '2', 'disk on fire'] }),
        compression: compressStage('zstd', local, zstd),
        store: s,
        key: 'x/bad',
      }),
      (err: Error) =>
        err instanceof ProcessFailedError && /exited with code 2/.test(err.message) && /disk on fire/.test(err.message),
    );
    assert.deepEqual(await s.list(''), []);
  });

  it('a failing extra check (e.g. a transport trailer) stores nothing', async () => {
    const s = await store();
    await assert.rejects(
      streamToStore({
        producer: local.start({ argv: [PRODUCER, '64', '0'] }),
        compression: compressStage('none', local, zstd),
        store: s,
        key: 'x/trailer',
        checkRaw: async (raw) => {
          throw new Error(`trailer says 1 byte, got ${raw.bytes}`);
        },
      }),
      /trailer says 1 byte, got 65536/,
    );
    assert.equal(await s.head('x/trailer'), undefined);
  });

  it('a missing producer program is reported as not found', async () => {
    const s = await store();
    await assert.rejects(
      streamToStore({
        producer: local.start({ argv: ['igb-no-such-program'] }),
        compression: compressStage('none', local, zstd),
        store: s,
        key: 'x/missing',
      }),
      /command not found/,
    );
  });

  it('an upload failure stops the producer', async () => {
    const failingStore = {
      ...(await store()),
      maxPutBytes: () => undefined,
      put: async (_k: string, body: Readable) => {
        await new Promise((r) => body.once('data', r));
        throw new Error('store down');
      },
    } as unknown as FileStore;
    const producer = local.start({ argv: ['sh', '-c', 'yes igbackup'] });
    await assert.rejects(
      streamToStore({ producer, compression: compressStage('none', local, zstd), store: failingStore, key: 'k' }),
      /store down/,
    );
    const exit = await producer.done;
    assert.equal(exit.signal, 'SIGTERM');
  });

  it('the file store keeps the verified bytes only', async () => {
    const s = await store();
    await streamToStore({
      producer: local.start({ argv: [PRODUCER, '8', '0'] }),
      compression: compressStage('none', local, zstd),
      store: s,
      key: 'k',
    });
    assert.equal((await readFile(join((s as unknown as { root: string }).root, 'k'))).length, 8192);
  });
});

describe('feedFile', () => {
  it('a consumer that reads every byte and exits 0 at once is a success (its stdin closing first is no failure)', async () => {
    const dir = await scratchDir('igb-feed-');
    const size = 3 * 1024 * 1024 + 17;
    const file = join(dir, 'in');
    await writeFile(file, Buffer.alloc(size, 7));
    // `head -c SIZE` exits the moment it has the last byte: before this side's end of the pipe has finished, often.
    for (let i = 0; i < 30; i++) {
      const c = local.start({ argv: ['head', '-c', String(size)], stdin: 'pipe' });
      c.stdout.resume();
      await feedFile(file, decompressStage('none', local), c);
    }
    // Compressed: the decompressed size given by the caller is what every byte means.
    const zst = join(dir, 'in.zst');
    await execa('zstd', ['-q', '-1', file, '-o', zst]);
    for (let i = 0; i < 10; i++) {
      const c = local.start({ argv: ['head', '-c', String(size)], stdin: 'pipe' });
      c.stdout.resume();
      await feedFile(zst, decompressStage('zstd', local), c, undefined, size);
    }
  });

  it('a consumer that exits 0 before it has read everything is a failure', async () => {
    const dir = await scratchDir('igb-feed-');
    const file = join(dir, 'in');
    await writeFile(file, Buffer.alloc(8 * 1024 * 1024, 7));
    const c = local.start({ argv: ['head', '-c', '100'], stdin: 'pipe' });
    c.stdout.resume();
    await assert.rejects(feedFile(file, decompressStage('none', local), c), /EPIPE|Premature close/);
  });
});
