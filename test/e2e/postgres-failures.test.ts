// The verified-complete contract under failure: no object at the key, no manifest, exit != 0, the cause named.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { PutObjectCommand, GetObjectCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { ROOT, parseJson, pgSection, runCli, s3Storage, startBackup, tempDir, writeConfig } from '../helpers/cli.js';
import {
  assertNothingStored,
  fingerprint,
  makeBigDatabase,
  makeBucket,
  makeDatabase,
  psql,
  s3,
  s3Client,
  uniqueName,
  waitForDumpCopy,
} from '../helpers/servers.js';

describe('backup failures leave nothing behind', () => {
  let dir: string;
  let db: string;

  before(async () => {
    dir = await tempDir();
    db = await makeDatabase(uniqueName('igb_fail'), 500);
  });

  async function configWith(
    bucket: string,
    pgExtra: Record<string, unknown> = {},
    storageExtra: Record<string, unknown> = {},
    dbs = [db],
  ): Promise<void> {
    await writeConfig(dir, {
      envs: { ci: { storage: s3Storage(bucket, storageExtra), postgres: pgSection(dbs, pgExtra) } },
    });
  }

  it('pg_dump exiting non-zero (the server refuses the database): exit 1, pg_dump stderr shown, nothing stored', async () => {
    const bucket = await makeBucket();
    const closed = await makeDatabase(uniqueName('igb_closed'), 10);
    await psql('postgres', `ALTER DATABASE "${closed}" ALLOW_CONNECTIONS false;`);
    await configWith(bucket, {}, {}, [closed]);
    const r = await runCli(['backup', 'postgres', '--env', 'ci'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /pg_dump exited with code 1/);
    assert.match(r.stderr, new RegExp(`database "${closed}" is not currently accepting connections`));
    await assertNothingStored(bucket);
    await psql('postgres', `ALTER DATABASE "${closed}" ALLOW_CONNECTIONS true;`);
  });

  it('a producer that wrote a complete-looking dump but exited non-zero is not stored', async () => {
    const bucket = await makeBucket();
    await configWith(bucket, { binDir: join(ROOT, 'test', 'fixtures', 'pgfail') });
    const r = await runCli(['--json', 'backup', 'postgres', '--env', 'ci'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /pg_dump exited with code 3/);
    assert.match(r.stderr, /injected failure after a complete dump/);
    assert.equal(parseJson<{ ok: boolean }>(r).ok, false);
    await assertNothingStored(bucket);
  });

  it('the compressor dying mid-stream fails the backup', async () => {
    const bucket = await makeBucket();
    await configWith(bucket);
    const r = await runCli(['backup', 'postgres', '--env', 'ci'], {
      cwd: dir,
      env: { PATH: `${join(ROOT, 'test', 'fixtures', 'zstdfail')}:${process.env.PATH}` },
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /zstd exited with code 1/);
    await assertNothingStored(bucket);
  });

  it('the PostgreSQL backend terminated mid-dump (pg_terminate_backend): no object, no manifest, no open upload', async () => {
    const name = await makeBigDatabase('igb_big', 1_500_000);
    const bucket = await makeBucket();
    await configWith(bucket, {}, { queueSize: 1, minPartSizeMiB: 5 }, [name]);
    const child = startBackup(dir, 'ci');
    const pid = await waitForDumpCopy(name);
    assert.ok(pid, 'never caught pg_dump in the middle of COPY');
    assert.equal(await psql('postgres', `SELECT pg_terminate_backend(${pid})`), 't');
    const r = await child;
    assert.equal(r.exitCode, 1, String(r.stderr));
    assert.match(String(r.stderr), /pg_dump exited with code 1/);
    assert.match(
      String(r.stderr),
      /terminating connection due to administrator command|server closed the connection unexpectedly/,
    );
    await assertNothingStored(bucket);
    await psql('postgres', `DROP DATABASE ${name}`);
  });

  it('S3 unreachable: exit 1 naming the endpoint, pg_dump stopped', async () => {
    await writeConfig(dir, {
      envs: {
        ci: {
          storage: { type: 's3', bucket: 'igb-nowhere', endpoint: 'http://127.0.0.1:9', kmsKeyId: 'k' },
          postgres: pgSection([db]),
        },
      },
    });
    const r = await runCli(['backup', 'postgres', '--env', 'ci'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot reach the S3 endpoint http:\/\/127\.0\.0\.1:9/);
    const still = await psql(
      'postgres',
      `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump' AND datname = '${db}'`,
    );
    assert.equal(still, '0');
  });

  it('an unknown KMS key: exit 1 naming the key, nothing stored', async () => {
    const bucket = await makeBucket();
    await configWith(bucket, {}, { kmsKeyId: 'igb-unknown-key' });
    const r = await runCli(['backup', 'postgres', '--env', 'ci'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /KMS key igb-unknown-key cannot be used/);
    await assertNothingStored(bucket);
  });

  it('SIGTERM during a backup aborts the upload: exit 130, nothing stored', async () => {
    const name = await makeBigDatabase('igb_sig', 1_000_000);
    const bucket = await makeBucket();
    await configWith(bucket, {}, { queueSize: 1, minPartSizeMiB: 5 }, [name]);
    const child = startBackup(dir, 'ci');
    assert.ok(await waitForDumpCopy(name), 'pg_dump never started copying');
    child.kill('SIGTERM');
    const r = await child;
    assert.equal(r.exitCode, 130, String(r.stderr));
    assert.match(String(r.stderr), /cancelled by SIGTERM/);
    await assertNothingStored(bucket);
    await psql('postgres', `DROP DATABASE ${name} WITH (FORCE)`);
  });
});

describe('restore refuses what does not match its manifest', () => {
  it('a corrupted artifact (one byte changed) is refused before the target is touched: exit 3', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const db = await makeDatabase(uniqueName('igb_corrupt'), 300);
    await writeConfig(dir, { envs: { ci: { storage: s3Storage(bucket), postgres: pgSection([db]) } } });
    const b = await runCli(['--json', 'backup', 'postgres', '--env', 'ci'], { cwd: dir });
    assert.equal(b.code, 0, b.stderr);
    const key = parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
    const obj = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = Buffer.from(await obj.Body!.transformToByteArray());
    const mid = Math.floor(bytes.length / 2);
    bytes[mid] = (bytes[mid] as number) ^ 0xff;
    await s3Client().send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: bytes,
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: s3.kmsKeyId,
      }),
    );
    await psql(db, `UPDATE customers SET note = 'changed after backup' WHERE id = 1;`);
    const before = await fingerprint(db);
    // Both restore paths: streaming (--jobs 1) and decompress-while-downloading for parallel pg_restore.
    for (const jobs of ['1', '2']) {
      const r = await runCli(['restore', 'postgres', '--env', 'ci', '--from', key, '--jobs', jobs], { cwd: dir });
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /does not match its manifest: sha256/);
    }
    assert.equal(await fingerprint(db), before);
    assert.equal(await psql('postgres', `SELECT count(*) FROM pg_database WHERE datname LIKE '${db}__igb%'`), '0');

    // Without its manifest an artifact is not a backup.
    await s3Client().send(new DeleteObjectCommand({ Bucket: bucket, Key: `${key}.manifest.json` }));
    const m = await runCli(['restore', 'postgres', '--env', 'ci', '--from', key], { cwd: dir });
    assert.equal(m.code, 3, m.stderr);
    assert.match(m.stderr, /has no manifest: it is not a complete backup/);
    const l = await runCli(['--json', 'list', '--env', 'ci'], { cwd: dir });
    const listed = parseJson<{ backups: unknown[]; orphans: { key: string }[] }>(l);
    assert.equal(listed.backups.length, 0);
    assert.deepEqual(
      listed.orphans.map((o) => o.key),
      [key],
    );
  });
});
