// Runs the shared ObjectStore suite against the file store, plus file-specific checks.

import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { FileStore } from '../../src/storage/file.js';
import { objectStoreSuite } from '../storage/suite.js';
import { scratchDir } from '../helpers/tmp.js';

objectStoreSuite('file', async () => new FileStore(await scratchDir('igb-fs-'), ''), {
  multipartBytes: 4 * 1024 * 1024,
});

it('file store writes objects with mode 600 and rejects keys escaping the root', async () => {
  const root = await scratchDir('igb-fs-');
  const store = new FileStore(root, '');
  await store.putBytes('a/b.txt', 'x');
  assert.equal((await stat(join(root, 'a', 'b.txt'))).mode & 0o777, 0o600);
  await assert.rejects(store.putBytes('../escape.txt', 'x'), /invalid key/);
  assert.deepEqual(await readdir(join(root, 'a')), ['b.txt']);
});
