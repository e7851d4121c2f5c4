// A restore and the terminal it runs in: the reader of its output going away (`| head`, a dropped SSH session) must
// not end it half-way, and SIGHUP cancels like SIGTERM: the target untouched, no scratch database, the lock released.
// Real PostgreSQL and radosgw.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { BIN, parseJson, pgSection, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import {
  dropDatabase,
  listKeys,
  makeBigDatabase,
  makeBucket,
  makeDatabase,
  pg,
  psql,
  uniqueName,
} from '../helpers/servers.js';

const blob = (db: string): Promise<string> =>
  psql(db, "SELECT count(*) || md5(string_agg(v, ',' ORDER BY id)) FROM blob");
const left = (target: string): Promise<string> =>
  psql('postgres', `SELECT count(*) FROM pg_database WHERE datname LIKE '${target}\\_\\_igb\\_%'`);

async function setup(rows: number): Promise<{ dir: string; bucket: string; source: string; key: string }> {
  const dir = await tempDir();
  const bucket = await makeBucket();
  const source = await makeBigDatabase('igb_rsig', rows);
  await writeConfig(dir, { envs: { ci: { storage: s3Storage(bucket), postgres: pgSection([source]) } } });
  const b = await runCli(['--json', 'backup', 'postgres', '--env', 'ci', '--compression', 'none'], { cwd: dir });
  assert.equal(b.code, 0, b.stderr);
  return { dir, bucket, source, key: parseJson<{ results: { key: string }[] }>(b).results[0]!.key };
}

describe('restore and its terminal', () => {
  it('the reader of its output goes away after the first line (| head -1): the restore still runs to its end', async () => {
    const s = await setup(100_000);
    const target = uniqueName('igb_rsig_t');
    // The shell's own pipeline: igbackup writes progress to a pipe whose reader exits after one line.
    const r = await execa(
      'sh',
      [
        '-c',
        `node "${BIN}" restore postgres --env ci --from "$1" --target-db "$2" --jobs 1 2>&1 | head -1`,
        'sh',
        s.key,
        target,
      ],
      {
        cwd: s.dir,
        env: { NO_COLOR: '1', TEST_PG_PASSWORD: pg.password },
        reject: false,
        timeout: 120_000,
      },
    );
    assert.equal(r.stdout.split('\n').length, 1, 'head printed more than one line');
    // The pipeline's status is head's; what matters is what igbackup did: restored completely, lock released.
    for (let i = 0; i < 200 && (await listKeys(s.bucket, 'ci/.igbackup/locks/')).length; i++) await sleep(100);
    assert.equal(await blob(target), await blob(s.source), 'the restore did not run to its end');
    assert.equal(await left(target), '0');
    assert.deepEqual(await listKeys(s.bucket, 'ci/.igbackup/locks/'), [], 'the lock was left');
    await dropDatabase(target);
    await dropDatabase(s.source);
  });

  it('SIGHUP (the terminal or SSH session closed) during pg_restore: exit 130, the target untouched, no scratch database, lock released', async () => {
    const s = await setup(600_000);
    const target = await makeDatabase(uniqueName('igb_rsig_x'), 10);
    const before = await psql(target, 'SELECT count(*) FROM customers');
    const child = execa(
      'node',
      [BIN, 'restore', 'postgres', '--env', 'ci', '--from', s.key, '--target-db', target, '--jobs', '1'],
      {
        cwd: s.dir,
        env: { NO_COLOR: '1', TEST_PG_PASSWORD: pg.password },
        reject: false,
        timeout: 120_000,
      },
    );
    let seen = '';
    child.stderr?.on('data', (c: Buffer) => (seen += c.toString()));
    for (let i = 0; i < 600 && !/restoring into scratch database/.test(seen); i++) await sleep(50);
    assert.match(seen, /restoring into scratch database/, 'the restore never reached pg_restore');
    await sleep(300);
    const t0 = Date.now();
    child.kill('SIGHUP');
    const r = await child;
    assert.equal(r.exitCode, 130, String(r.stderr));
    assert.ok(Date.now() - t0 < 10_000, 'took longer than 10 s to stop');
    assert.match(String(r.stderr), /cancelled by SIGHUP/);
    assert.equal(await psql(target, 'SELECT count(*) FROM customers'), before, 'the target was changed');
    assert.equal(await left(target), '0', 'a scratch database was left');
    assert.deepEqual(await listKeys(s.bucket, 'ci/.igbackup/locks/'), [], 'the lock was left');
    await dropDatabase(target);
    await dropDatabase(s.source);
  });
});
