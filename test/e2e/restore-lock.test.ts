// One restore per target at a time: a second restore into the same PostgreSQL database is refused (exit 7) whether it
// comes 0.3 s later or at the same moment; other targets are not held up; a Redis restore takes the engine's lock its
// backups take; drills of an engine do not overlap. Real PostgreSQL, Redis and radosgw.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { BIN, parseJson, pgSection, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { digest, fillRedis, startRedis } from '../helpers/redis.js';
import {
  dropDatabase,
  fingerprint,
  listKeys,
  makeBigDatabase,
  makeBucket,
  makeDatabase,
  pg,
  psql,
  s3,
  s3Client,
  uniqueName,
} from '../helpers/servers.js';

const PG_ENV = { NO_COLOR: '1', TEST_PG_PASSWORD: pg.password };

function startRestore(dir: string, key: string, target: string) {
  return execa(
    'node',
    [BIN, 'restore', 'postgres', '--env', 'ci', '--from', key, '--target-db', target, '--jobs', '1'],
    { cwd: dir, env: PG_ENV, reject: false },
  );
}

async function backup(dir: string): Promise<string> {
  const b = await runCli(['--json', 'backup', 'postgres', '--env', 'ci', '--compression', 'none'], { cwd: dir });
  assert.equal(b.code, 0, b.stderr);
  return parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
}

async function waitForKey(bucket: string, prefix: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if ((await listKeys(bucket, prefix)).length) return;
    await sleep(25);
  }
  throw new Error(`no object under ${prefix}`);
}

const scratchLeft = (target: string): Promise<string> =>
  psql('postgres', `SELECT count(*) FROM pg_database WHERE datname LIKE '${target}\\_\\_igb\\_%'`);

/** A lock record of a run that is alive elsewhere (another host), with a lease that has not run out. */
async function liveLock(bucket: string, key: string, operation: string): Promise<void> {
  const now = Date.now();
  const body = {
    id: 'other',
    env: 'ci',
    engine: key.includes('redis') ? 'redis' : 'postgres',
    operation,
    holder: 'cron@db1',
    host: 'db1',
    pid: 4242,
    acquiredAt: new Date(now).toISOString(),
    expiresAt: new Date(now + 10 * 60_000).toISOString(),
  };
  await s3Client().send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: JSON.stringify(body),
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: s3.kmsKeyId,
    }),
  );
}

describe('restore lock', () => {
  it('a second restore into the same database 0.3 s later is refused (exit 7) while another target is not held up', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const source = await makeBigDatabase('igb_rlock', 400_000);
    const small = await makeDatabase(uniqueName('igb_rlock_s'), 50);
    await writeConfig(dir, { envs: { ci: { storage: s3Storage(bucket), postgres: pgSection([source, small]) } } });
    const b = await runCli(['--json', 'backup', 'postgres', '--env', 'ci', '--compression', 'none'], { cwd: dir });
    assert.equal(b.code, 0, b.stderr);
    const keys = parseJson<{ results: { key: string; database: string }[] }>(b).results;
    const bigKey = keys.find((k) => k.database === source)!.key;
    const smallKey = keys.find((k) => k.database === small)!.key;
    const target = uniqueName('igb_rlock_t');
    const other = uniqueName('igb_rlock_o');

    const first = startRestore(dir, bigKey, target);
    await waitForKey(bucket, 'ci/.igbackup/locks/restore/postgres/');
    await sleep(300);
    const second = await startRestore(dir, bigKey, target);
    if (second.exitCode !== 7) {
      const r = await first;
      assert.fail(
        `second exited ${second.exitCode}: ${String(second.stderr)}\n--- first exited ${r.exitCode}: ${String(r.stderr)}`,
      );
    }
    assert.match(
      String(second.stderr),
      new RegExp(`a postgres restore into "${target}" of env "ci" is already running: .* since .* lease until`),
    );
    assert.match(String(second.stderr), /--force-unlock/);
    // Another database of the same env is restored meanwhile.
    const elsewhere = await startRestore(dir, smallKey, other);
    assert.equal(elsewhere.exitCode, 0, String(elsewhere.stderr));
    const r = await first;
    assert.equal(r.exitCode, 0, String(r.stderr));

    const blob = (db: string): Promise<string> =>
      psql(db, "SELECT count(*) || md5(string_agg(v, ',' ORDER BY id)) FROM blob");
    assert.equal(await blob(target), await blob(source));
    assert.equal(await scratchLeft(target), '0', 'a scratch or set-aside database was left');
    assert.deepEqual(await listKeys(bucket, 'ci/.igbackup/'), [], 'a lock was not released');
    for (const db of [source, small, target, other]) await dropDatabase(db);
  });

  it('two restores into the same existing database at the same moment: one swaps, the other exits 7 (no raw name clash)', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const source = await makeDatabase(uniqueName('igb_rlock2'), 20_000);
    await writeConfig(dir, { envs: { ci: { storage: s3Storage(bucket), postgres: pgSection([source]) } } });
    const key = await backup(dir);
    const target = await makeDatabase(uniqueName('igb_rlock2_t'), 10);
    const results = await Promise.all([startRestore(dir, key, target), startRestore(dir, key, target)]);
    const codes = results.map((x) => x.exitCode).sort();
    assert.deepEqual(codes, [0, 7], results.map((x) => String(x.stderr)).join('\n---\n'));
    const refused = results.find((x) => x.exitCode === 7)!;
    assert.match(String(refused.stderr), /a postgres restore into .* is already running/);
    assert.doesNotMatch(String(refused.stderr), /already exists/);
    assert.equal(await fingerprint(target), await fingerprint(source));
    assert.equal(await scratchLeft(target), '0');
    assert.deepEqual(await listKeys(bucket, 'ci/.igbackup/'), []);
    await dropDatabase(source);
    await dropDatabase(target);
  });

  it("a Redis restore while a backup of the env's Redis holds the lock: exit 7 before Redis is touched; --force-unlock takes it", async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const r = await startRedis();
    await fillRedis(r, 100);
    const redis = { host: '127.0.0.1', port: r.port, restore: { start: r.start, loadTimeoutSec: 60 } };
    await writeConfig(dir, { envs: { ci: { storage: s3Storage(bucket), redis } } });
    const b = await runCli(['--json', 'backup', 'redis', '--env', 'ci'], { cwd: dir });
    assert.equal(b.code, 0, b.stderr);
    const key = parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
    await r.cli('SET', 'written-after-the-backup', '1');
    const before = await digest(r);
    const pid = await r.cli('INFO', 'server').then((i) => /process_id:(\d+)/.exec(i)?.[1]);

    await liveLock(bucket, 'ci/.igbackup/locks/redis.json', 'backup');
    const res = await runCli(['restore', 'redis', '--env', 'ci', '--from', key], { cwd: dir });
    assert.equal(res.code, 7, res.stderr);
    assert.match(
      res.stderr,
      /a redis backup of env "ci" is already running: cron@db1 \(pid 4242 on db1\).*\(this restore needs the same lock\)/,
    );
    assert.equal(await digest(r), before, 'Redis was touched');
    assert.equal(
      await r.cli('INFO', 'server').then((i) => /process_id:(\d+)/.exec(i)?.[1]),
      pid,
      'Redis was restarted',
    );

    const forced = await runCli(['restore', 'redis', '--env', 'ci', '--from', key, '--force-unlock'], { cwd: dir });
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /--force-unlock: removing the lock held by cron@db1/);
    assert.equal(await r.cli('EXISTS', 'written-after-the-backup'), '0', 'the backup was not restored');
    assert.deepEqual(await listKeys(bucket, 'ci/.igbackup/locks/'), []);
    await r.stop();
  });

  it('a drill while another drill of the engine runs: exit 7, nothing created', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const db = await makeDatabase(uniqueName('igb_rlock_d'), 50);
    await writeConfig(dir, { envs: { ci: { storage: s3Storage(bucket), postgres: pgSection([db]) } } });
    await backup(dir);
    await liveLock(bucket, 'ci/.igbackup/locks/drill/postgres.json', 'drill');
    const d = await runCli(['drill', 'postgres', '--env', 'ci'], { cwd: dir });
    assert.equal(d.code, 7, d.stderr);
    assert.match(d.stderr, /a postgres drill of env "ci" is already running: cron@db1/);
    assert.equal(await scratchLeft(db), '0');
    assert.deepEqual(await listKeys(bucket, 'ci/.igbackup/drills/'), []);
    // A backup is not held up by a drill.
    assert.equal((await runCli(['backup', 'postgres', '--env', 'ci'], { cwd: dir })).code, 0);
    await dropDatabase(db);
  });
});
