// prune on real backups in a versioned radosgw bucket: retention by manifest time, the newest always kept,
// orphans and a bad manifest after the grace period, dry run by default, delete markers vs --purge-versions.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ListObjectVersionsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ageBackup, rawS3 } from '../helpers/crafted.js';
import { parseJson, pgSection, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { listKeys, makeDatabase, s3, s3Client, uniqueName } from '../helpers/servers.js';

interface PruneJson {
  dryRun: boolean;
  kept: { key: string; why: string }[];
  removed: { key: string; objects: string[] }[];
  orphansRemoved: { key: string; why: string }[];
  suspectsRemoved: { key: string; reasons: string[] }[];
}

describe('prune', () => {
  it('keeps the newest N / younger than D days by manifest time, never the newest; removes orphans after the grace period', async () => {
    const dir = await tempDir();
    const bucket = uniqueName('igb-prune');
    const db = await makeDatabase(uniqueName('igb_prune'), 50);
    await writeConfig(dir, {
      envs: {
        prod: {
          protected: true,
          retention: { keepLast: 2, keepDays: 25, orphanGraceHours: 0 },
          storage: s3Storage(bucket),
          postgres: pgSection([db]),
        },
      },
    });
    assert.equal((await runCli(['storage', 'init', '--env', 'prod'], { cwd: dir })).code, 0);
    const keys: string[] = [];
    for (let i = 0; i < 4; i++) {
      const b = await runCli(['--json', 'backup', 'postgres', '--env', 'prod'], { cwd: dir });
      assert.equal(b.code, 0, b.stderr);
      keys.push(parseJson<{ results: { key: string }[] }>(b).results[0]!.key);
    }
    // Manifest times, not key names, decide: the key that sorts last is made the oldest.
    const raw = rawS3(bucket);
    keys[3] = await ageBackup(raw, keys[3]!, 40);
    keys[0] = await ageBackup(raw, keys[0]!, 30);
    keys[1] = await ageBackup(raw, keys[1]!, 20);
    // An orphan (no manifest) and a backup whose manifest is broken.
    const put = (Key: string, Body: string) =>
      s3Client().send(
        new PutObjectCommand({ Bucket: bucket, Key, Body, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: s3.kmsKeyId }),
      );
    await put(`prod/postgres/${db}_orphan.dump.zst`, 'partial');
    await put(`prod/postgres/${db}_bad.dump.zst`, 'data');
    await put(`prod/postgres/${db}_bad.dump.zst.manifest.json`, '{ not json');

    const plan = await runCli(['--json', 'prune', 'postgres', '--env', 'prod'], { cwd: dir });
    assert.equal(plan.code, 0, plan.stderr);
    const p = parseJson<PruneJson>(plan);
    assert.equal(p.dryRun, true);
    assert.deepEqual(p.removed.map((r) => r.key).sort(), [keys[0], keys[3]].sort());
    assert.deepEqual(
      p.kept.map((k) => k.key),
      [keys[2], keys[1]],
    );
    assert.equal(p.kept[0]?.why, 'newest complete backup');
    assert.deepEqual(p.orphansRemoved.map((o) => o.key).sort(), [
      `prod/postgres/${db}_bad.dump.zst`,
      `prod/postgres/${db}_orphan.dump.zst`,
    ]);
    assert.deepEqual(
      p.suspectsRemoved.map((o) => o.key),
      [`prod/postgres/${db}_bad.dump.zst.manifest.json`],
    );
    assert.match(p.suspectsRemoved[0]!.reasons.join(' '), /does not parse/);
    assert.equal((await listKeys(bucket, 'prod/postgres/')).length, 11, 'a dry run deleted something');

    const refused = await runCli(['prune', 'postgres', '--env', 'prod', '--yes'], { cwd: dir, env: { CI: '1' } });
    assert.equal(refused.code, 0, refused.stderr); // --yes is the confirmation for a protected env too
    const after = await listKeys(bucket, 'prod/postgres/');
    assert.deepEqual(after.sort(), [keys[1], `${keys[1]}.manifest.json`, keys[2], `${keys[2]}.manifest.json`].sort());

    // Without --purge-versions the data stays as noncurrent versions behind delete markers.
    const v = await s3Client().send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: keys[0] }));
    assert.ok((v.DeleteMarkers ?? []).some((d) => d.Key === keys[0]));
    assert.ok((v.Versions ?? []).some((x) => x.Key === keys[0]));

    // Even --keep-last 1 --keep-days 0 keeps the newest; --purge-versions leaves nothing of the rest.
    const all = await runCli(
      ['--json', 'prune', '--env', 'prod', '--keep-last', '1', '--keep-days', '0', '--yes', '--purge-versions'],
      { cwd: dir },
    );
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual((await listKeys(bucket, 'prod/postgres/')).sort(), [keys[2], `${keys[2]}.manifest.json`].sort());
    const gone = await s3Client().send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: keys[1] }));
    assert.equal([...(gone.Versions ?? []), ...(gone.DeleteMarkers ?? [])].filter((x) => x.Key === keys[1]).length, 0);
    const l = await runCli(['--json', 'list', '--env', 'prod'], { cwd: dir });
    assert.deepEqual(
      parseJson<{ backups: { key: string }[] }>(l).backups.map((b) => b.key),
      [keys[2]],
    );
  });
});
