// What a backup killed midway (SIGKILL, the OOM killer) leaves in a file store: its partial file. `list` reports it
// among the objects without a manifest, and prune removes it once older than the grace period, never sooner.

import assert from 'node:assert/strict';
import { utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseJson, pgSection, runCli, tempDir, writeConfig } from '../helpers/cli.js';
import { dropDatabase, makeDatabase, uniqueName } from '../helpers/servers.js';

describe('unfinished writes in a file store', () => {
  it('a partial file left by a killed backup is an orphan: listed, removed by prune after the grace period only', async () => {
    const dir = await tempDir();
    const db = await makeDatabase(uniqueName('igb_partial'), 50);
    try {
      const root = join(dir, 'store');
      await writeConfig(dir, {
        envs: {
          ci: {
            storage: { type: 'file', path: root },
            retention: { keepLast: 1, keepDays: 0, orphanGraceHours: 24 },
            postgres: pgSection([db]),
          },
        },
      });
      const b = await runCli(['--json', 'backup', 'postgres', '--env', 'ci'], { cwd: dir });
      assert.equal(b.code, 0, b.stderr);
      const folder = join(root, 'ci', 'postgres');
      const old = join(folder, `${db}_20261120T000000.000Z.dump.zst.igbackup-partial-0123456789ab`);
      const fresh = join(folder, `${db}_20261127T000000.000Z.dump.zst.seg-0002.igbackup-partial-ba9876543210`);
      await writeFile(old, 'killed three days ago');
      const threeDaysAgo = new Date(Date.now() - 3 * 86_400_000);
      await utimes(old, threeDaysAgo, threeDaysAgo);
      await writeFile(fresh, 'maybe a backup running now');

      const l = await runCli(['--json', 'list', 'postgres', '--env', 'ci'], { cwd: dir });
      const orphans = parseJson<{ orphans: { key: string }[] }>(l).orphans.map((o) => o.key);
      assert.equal(orphans.length, 2, orphans.join(', '));
      assert.ok(orphans.every((k) => k.includes('.igbackup-partial-')));

      const p = await runCli(['--json', 'prune', 'postgres', '--env', 'ci', '--yes'], { cwd: dir });
      assert.equal(p.code, 0, p.stderr);
      const r = parseJson<{ orphansRemoved: { key: string }[]; orphansKept: { key: string }[] }>(p);
      assert.deepEqual(
        r.orphansRemoved.map((o) => o.key.split('/').pop()),
        [old.split('/').pop()],
      );
      assert.deepEqual(
        r.orphansKept.map((o) => o.key.split('/').pop()),
        [fresh.split('/').pop()],
      );
      const after = await runCli(['--json', 'list', 'postgres', '--env', 'ci'], { cwd: dir });
      assert.equal(parseJson<{ orphans: unknown[] }>(after).orphans.length, 1);
      assert.equal(parseJson<{ backups: unknown[] }>(after).backups.length, 1, 'the backup itself stays');
    } finally {
      await dropDatabase(db);
    }
  });
});
