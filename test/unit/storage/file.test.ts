// Runs the shared ObjectStore suite against the file store, plus file-specific checks.

import assert from 'node:assert/strict';
import { mkdir, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { FileStore } from '../../../src/storage/file.js';
import { objectStoreSuite } from '../../storage/suite.js';
import { scratchDir } from '../../helpers/tmp.js';

objectStoreSuite('file', async () => new FileStore(await scratchDir('igb-fs-'), ''), {
  multipartBytes: 4 * 1024 * 1024,
  encryption: { sse: 'none', kmsKeyId: undefined },
  storageClass: undefined,
  versioned: false,
  etags: false,
  restoreRefusal: /a file store never archives objects; nothing to restore/,
  maxPutBytes: { unknown: undefined, oneGiB: undefined },
  // The file itself, looked up without the store (its description is file://ROOT).
  versionsAt: async (store, key) =>
    existsSync(join(store.description.replace(/^file:\/\//, ''), ...key.split('/'))) ? 1 : 0,
});

it('file store writes objects with mode 600 and rejects keys escaping the root', async () => {
  const root = await scratchDir('igb-fs-');
  const store = new FileStore(root, '');
  await store.putBytes('a/b.txt', 'x');
  assert.equal((await stat(join(root, 'a', 'b.txt'))).mode & 0o777, 0o600);
  await assert.rejects(store.putBytes('../escape.txt', 'x'), /invalid key/);
  assert.deepEqual(await readdir(join(root, 'a')), ['b.txt']);
});

it('file store refuses to list a folder reached through a symlink (an env folder linked to another env)', async () => {
  const root = await scratchDir('igb-fs-');
  const store = new FileStore(root, '');
  await store.putBytes('prod2/postgres/app_20261127T000000.000Z.dump', 'x');
  await mkdir(join(root, 'other'));
  await symlink(join(root, 'prod2'), join(root, 'alias'));
  await assert.rejects(store.list('alias/postgres/'), /folder alias\/postgres is reached through a symlink/);
  assert.equal((await store.list('prod2/postgres/')).length, 1);
});

it('file store with storage.segmentMiB: maxPutBytes is the segment size, whatever the estimate', async () => {
  const store = new FileStore(await scratchDir('igb-fs-'), '', 3 * 1024 * 1024);
  assert.equal(store.maxPutBytes(undefined), 3 * 1024 * 1024);
  assert.equal(store.maxPutBytes(1024 ** 4), 3 * 1024 * 1024);
});

it('file store: a write killed midway (its partial file) is listed as unfinished, never as an object, and deletable', async () => {
  const root = await scratchDir('igb-fs-');
  const store = new FileStore(root, '');
  await store.putBytes('env/pg/a.dump', 'complete');
  await writeFile(join(root, 'env', 'pg', 'b.dump.igbackup-partial-abc123'), 'half');
  assert.deepEqual(
    (await store.list('env/')).map((o) => o.key),
    ['env/pg/a.dump'],
  );
  const { objects, unfinished } = await store.listWithUnfinished('env/');
  assert.deepEqual(
    objects.map((o) => o.key),
    ['env/pg/a.dump'],
  );
  assert.deepEqual(
    unfinished.map((o) => [o.key, o.bytes]),
    [['env/pg/b.dump.igbackup-partial-abc123', 4]],
  );
  await store.delete(unfinished[0]!.key);
  assert.deepEqual((await store.listWithUnfinished('env/')).unfinished, []);
});
