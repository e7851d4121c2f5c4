// One backup per engine and env at a time: a concurrent run is refused (exit 7), a stale lock is taken over,
// --force-unlock removes a live one; the lock never shows up as a backup or an orphan.

import assert from 'node:assert/strict';
import { readFile, readlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { setTimeout as sleep } from 'node:timers/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { parseJson, pgSection, runCli, s3Storage, startBackup, tempDir, writeConfig } from '../helpers/cli.js';
import {
  dropDatabase,
  listKeys,
  makeBigDatabase,
  makeBucket,
  makeDatabase,
  psql,
  s3,
  s3Client,
  uniqueName,
} from '../helpers/servers.js';

const LOCK = (env: string, engine: string) => `${env}/.igbackup/locks/${engine}.json`;

describe('backup lock', () => {
  it('refuses a second backup of the same engine and env while one runs', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const name = await makeBigDatabase('igb_lock', 1_000_000);
    await writeConfig(dir, {
      envs: { ci: { storage: s3Storage(bucket, { queueSize: 1, minPartSizeMiB: 5 }), postgres: pgSection([name]) } },
    });
    const first = startBackup(dir, 'ci');
    for (let i = 0; i < 200 && !(await listKeys(bucket, LOCK('ci', 'postgres'))).length; i++) await sleep(25);
    const second = await runCli(['backup', 'postgres', '--env', 'ci'], { cwd: dir });
    assert.equal(second.code, 7, second.stderr);
    assert.match(second.stderr, /a postgres backup of env "ci" is already running: .* since .* lease until/);
    assert.match(second.stderr, /--force-unlock/);
    const r = await first;
    assert.equal(r.exitCode, 0, String(r.stderr));
    assert.deepEqual(await listKeys(bucket, 'ci/.igbackup/'), [], 'the lock was not released');
    const l = parseJson<{ backups: unknown[]; orphans: unknown[] }>(
      await runCli(['--json', 'list', '--env', 'ci'], { cwd: dir }),
    );
    assert.equal(l.backups.length, 1);
    assert.equal(l.orphans.length, 0);
    await psql('postgres', `DROP DATABASE ${name}`);
  });

  it('takes over a stale lock; --force-unlock removes a live one', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const db = await makeDatabase(uniqueName('igb_lock2'), 50);
    await writeConfig(dir, { envs: { ci: { storage: s3Storage(bucket), postgres: pgSection([db]) } } });
    const lock = (expiresAt: Date) =>
      s3Client().send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: LOCK('ci', 'postgres'),
          Body: JSON.stringify({
            id: 'other',
            env: 'ci',
            engine: 'postgres',
            holder: 'cron@db1',
            host: 'db1',
            pid: 4242,
            acquiredAt: new Date(0).toISOString(),
            expiresAt: expiresAt.toISOString(),
          }),
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: s3.kmsKeyId,
        }),
      );
    await lock(new Date(Date.now() - 60_000));
    const stale = await runCli(['backup', 'postgres', '--env', 'ci'], { cwd: dir });
    assert.equal(stale.code, 0, stale.stderr);
    assert.match(stale.stderr, /taking over the lock .*: the lock of cron@db1 is stale/);

    // Stored state can lie: a lease no igbackup grants (from the future) or an object that is no lock record.
    await lock(new Date('2099-01-01T00:00:00Z'));
    const future = await runCli(['backup', 'postgres', '--env', 'ci'], { cwd: dir });
    assert.equal(future.code, 0, future.stderr);
    assert.match(
      future.stderr,
      /claims a lease until 2099-01-01T00:00:00.000Z, longer than any igbackup lease \(15 min\): not credible/,
    );
    await s3Client().send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: LOCK('ci', 'postgres'),
        Body: '{"id": 1',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: s3.kmsKeyId,
      }),
    );
    const garbage = await runCli(['backup', 'postgres', '--env', 'ci'], { cwd: dir });
    assert.equal(garbage.code, 0, garbage.stderr);
    assert.match(garbage.stderr, /not a valid lock record/);
    assert.deepEqual(await listKeys(bucket, 'ci/.igbackup/'), []);

    await lock(new Date(Date.now() + 10 * 60_000));
    const held = await runCli(['backup', 'postgres', '--env', 'ci'], { cwd: dir });
    assert.equal(held.code, 7);
    assert.match(held.stderr, /cron@db1 \(pid 4242 on db1\)/);
    const forced = await runCli(['backup', 'postgres', '--env', 'ci', '--force-unlock'], { cwd: dir });
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stderr, /--force-unlock: removing the lock held by cron@db1/);
    assert.deepEqual(await listKeys(bucket, 'ci/.igbackup/'), []);
  });

  it('a lock of a run that died on this host is taken over; a record of another env or engine is not credible; --force-unlock names what the live holder runs', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const db = await makeDatabase(uniqueName('igb_lock3'), 20);
    await writeConfig(dir, { envs: { ci: { storage: s3Storage(bucket), postgres: pgSection([db]) } } });
    const space = `${(await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim()}/${await readlink('/proc/self/ns/pid')}`;
    const put = (record: Record<string, unknown>) =>
      s3Client().send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: LOCK('ci', 'postgres'),
          Body: JSON.stringify(record),
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: s3.kmsKeyId,
        }),
      );
    const live = {
      id: 'other',
      env: 'ci',
      engine: 'postgres',
      holder: 'ops@here',
      host: hostname(),
      acquiredAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 10 * 60_000).toISOString(),
    };

    const child = execa('true');
    const dead = { pid: child.pid as number };
    await child;
    await put({ ...live, pid: dead.pid, pidSpace: space });
    const r1 = await runCli(['backup', 'postgres', '--env', 'ci'], { cwd: dir });
    assert.equal(r1.code, 0, r1.stderr);
    assert.match(
      r1.stderr,
      new RegExp(
        `taking over the lock .*: the run holding it \\(pid ${dead.pid} on this host, ops@here\\) is not running any more`,
      ),
    );

    await put({ ...live, env: 'prod', engine: 'redis', pid: 4242 });
    const r2 = await runCli(['backup', 'postgres', '--env', 'ci'], { cwd: dir });
    assert.equal(r2.code, 0, r2.stderr);
    assert.match(r2.stderr, /names env "prod" and engine "redis", not this key's: not credible/);

    const sleeper = execa('sleep', ['30']);
    await put({ ...live, operation: 'restore', pid: sleeper.pid, pidSpace: space });
    const r3 = await runCli(['backup', 'postgres', '--env', 'ci', '--force-unlock'], { cwd: dir });
    assert.equal(r3.code, 7, r3.stderr);
    assert.match(
      r3.stderr,
      /--force-unlock refused: the run holding the lock \(a postgres restore\) of env "ci" is alive/,
    );
    sleeper.kill();
    await sleeper.catch(() => undefined);
    await dropDatabase(db);
  });
});
