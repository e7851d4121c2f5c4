// A run over several databases: an unknown one fails the preflight before anything runs (exit 2); one that fails
// while dumping does not stop the others, every database is reported (text and --json), and the run exits non-zero.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseJson, pgSection, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { listKeys, makeBucket, makeDatabase, pendingUploads, psql, uniqueName } from '../helpers/servers.js';

interface BackupJson {
  ok: boolean;
  results: { database: string; key: string }[];
  failures: { database: string; error: { type: string; message: string } }[];
}

describe('backup of several databases', () => {
  it('an unknown database fails the preflight with exit 2 and nothing is dumped', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const app = await makeDatabase(uniqueName('igb_many_app'), 20);
    const missing = uniqueName('igb_missing');
    await writeConfig(dir, { envs: { prod: { storage: s3Storage(bucket), postgres: pgSection([missing, app]) } } });
    const r = await runCli(['backup', 'postgres', '--env', 'prod'], { cwd: dir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`"${missing}" not found on .*nothing was backed up`));
    assert.match(r.stderr, /remove them from envs\.prod\.postgres\.databases/);
    assert.deepEqual(await listKeys(bucket, 'prod/postgres/'), []);
  });

  it('one database failing mid-run: the others are still backed up, each reported, exit non-zero', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const a = await makeDatabase(uniqueName('igb_many_a'), 20);
    const blocked = await makeDatabase(uniqueName('igb_many_blocked'), 20);
    const b = await makeDatabase(uniqueName('igb_many_b'), 20);
    // The server refuses connections to this one: pg_dump fails for real, after the preflight found it.
    await psql('postgres', `ALTER DATABASE "${blocked}" ALLOW_CONNECTIONS false;`);
    await writeConfig(dir, { envs: { prod: { storage: s3Storage(bucket), postgres: pgSection([a, blocked, b]) } } });

    const r = await runCli(['--json', 'backup', 'postgres', '--env', 'prod'], { cwd: dir });
    assert.equal(r.code, 1, r.stderr);
    const j = parseJson<BackupJson>(r);
    assert.equal(j.ok, false);
    assert.deepEqual(
      j.results.map((x) => x.database),
      [a, b],
    );
    assert.deepEqual(
      j.failures.map((f) => f.database),
      [blocked],
    );
    assert.match(j.failures[0]!.error.message, /pg_dump exited with code 1[\s\S]*not currently accepting connections/);
    assert.match(r.stderr, new RegExp(`1 of 3 postgres backup\\(s\\) failed \\(${blocked}\\); 2 stored complete`));

    const list = parseJson<{ backups: { database: string }[]; orphans: unknown[] }>(
      await runCli(['--json', 'list', 'postgres', '--env', 'prod'], { cwd: dir }),
    );
    assert.deepEqual(list.backups.map((x) => x.database).sort(), [a, b].sort());
    assert.deepEqual(list.orphans, []);
    assert.ok(
      !(await listKeys(bucket, 'prod/postgres/')).some((k) => k.includes(blocked)),
      'the failed database left an object',
    );
    assert.deepEqual(await pendingUploads(bucket), []);

    const text = await runCli(['backup', 'postgres', '--env', 'prod'], { cwd: dir });
    assert.equal(text.code, 1);
    assert.match(text.stdout, new RegExp(`✔ postgres ${a} →`));
    assert.match(text.stdout, new RegExp(`✘ postgres ${blocked}: FAILED, nothing stored for it`));
    assert.match(text.stdout, new RegExp(`✔ postgres ${b} →`));
    await psql('postgres', `ALTER DATABASE "${blocked}" ALLOW_CONNECTIONS true;`);
  });
});
