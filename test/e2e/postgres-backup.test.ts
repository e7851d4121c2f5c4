// End to end on the real PostgreSQL and RADOS Gateway: backup -> HeadObject -> list -> restore -> same contents.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { HeadObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { ROOT, parseJson, pgSection, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import {
  dropDatabase,
  fingerprint,
  makeBucket,
  makeDatabase,
  psql,
  s3,
  s3Client,
  uniqueName,
} from '../helpers/servers.js';

interface BackupJson {
  ok: boolean;
  results: { key: string; manifestKey: string; bytes: number; rawBytes: number; sha256: string; database: string }[];
}

describe('postgres backup and restore through S3 with SSE-KMS', () => {
  let dir: string;
  let bucket: string;
  let db: string;
  let argvLog: string;

  before(async () => {
    dir = await tempDir();
    bucket = await makeBucket();
    db = await makeDatabase(uniqueName('igb_app'), 3000);
    argvLog = join(dir, 'argv.log');
    await writeConfig(dir, {
      tiers: { gold: { rpoMinutes: 5, rtoMinutes: 60 } },
      envs: {
        prod: {
          protected: true,
          tier: 'gold',
          storage: s3Storage(bucket, { prefix: 'team-a' }),
          postgres: pgSection([db], { binDir: join(ROOT, 'test', 'fixtures', 'pgwrap'), globals: true }),
        },
        staging: { storage: s3Storage(bucket), postgres: pgSection([db]) },
      },
    });
  });

  it('backs up, is encrypted with the KMS key, lists, and restores into a scratch database with equal contents', async () => {
    const env = { IGB_ARGV_LOG: argvLog };
    const b = await runCli(['--json', 'backup', 'postgres', '--env', 'prod'], { cwd: dir, env });
    assert.equal(b.code, 0, b.stderr);
    const out = parseJson<BackupJson>(b);
    const r = out.results[0];
    assert.ok(r);
    assert.match(r.key, new RegExp(`^team-a/prod/postgres/${db}_\\d{8}T\\d{6}\\.\\d{3}Z\\.dump\\.zst$`));

    const head = await s3Client().send(new HeadObjectCommand({ Bucket: bucket, Key: r.key }));
    assert.equal(head.ServerSideEncryption, 'aws:kms');
    assert.equal(head.SSEKMSKeyId, s3.kmsKeyId);
    assert.equal(head.ContentLength, r.bytes);
    const body = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: r.key }));
    const sha = createHash('sha256')
      .update(Buffer.from(await body.Body!.transformToByteArray()))
      .digest('hex');
    assert.equal(sha, r.sha256);

    const manifest = JSON.parse(
      Buffer.from(
        await (
          await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: r.manifestKey }))
        ).Body!.transformToByteArray(),
      ).toString(),
    );
    assert.equal(manifest.engine, 'postgres');
    assert.equal(manifest.target.database, db);
    assert.equal(manifest.compression, 'zstd');
    assert.equal(manifest.artifacts.length, 2);
    assert.equal(manifest.artifacts[1].role, 'globals');
    assert.match(manifest.tools.pg_dump, /^15\./);
    const mhead = await s3Client().send(new HeadObjectCommand({ Bucket: bucket, Key: r.manifestKey }));
    assert.equal(mhead.ServerSideEncryption, 'aws:kms');

    const l = await runCli(['--json', 'list', 'postgres', '--env', 'prod'], { cwd: dir });
    assert.equal(l.code, 0, l.stderr);
    const listed = parseJson<{ backups: { key: string; sha256: string; bytes: number; createdBy: string }[] }>(l);
    assert.equal(listed.backups[0]?.key, r.key);
    assert.equal(listed.backups[0]?.sha256, r.sha256);
    const text = await runCli(['list', '--env', 'prod'], { cwd: dir });
    assert.match(text.stdout, /AGE\s+ENGINE\s+DATABASE\s+SIZE/);
    assert.ok(text.stdout.includes(r.key));

    const scratch = uniqueName('igb_scratch');
    const res = await runCli(
      ['--json', 'restore', 'postgres', '--env', 'prod', '--from', r.key, '--target-db', scratch, '--yes'],
      { cwd: dir, env },
    );
    assert.equal(res.code, 0, res.stderr);
    assert.equal(await fingerprint(scratch), await fingerprint(db));

    // Secrets never reach argv, yet the commands had the password in their environment.
    const log = await readFile(argvLog, 'utf8');
    assert.ok(!log.includes(process.env.IGBACKUP_TEST_PG_PASSWORD as string), 'password found in argv');
    assert.match(log, /^pg_dump .*\[--format=custom\].*PGPASSWORD=set$/m);
    assert.match(log, /^pg_restore .*PGPASSWORD=set$/m);
    for (const o of [b.stdout, b.stderr, l.stdout, res.stdout, res.stderr]) {
      assert.ok(!o.includes(process.env.IGBACKUP_TEST_PG_PASSWORD as string));
    }
    await dropDatabase(scratch);
  });

  it('restores --latest over the existing database in place, keeping nothing half-done', async () => {
    const before = await fingerprint(db);
    const b = await runCli(['backup', 'postgres', '--env', 'staging', '--compression', 'gzip'], { cwd: dir });
    assert.equal(b.code, 0, b.stderr);
    await psql(db, 'DELETE FROM orders WHERE id % 2 = 0; UPDATE customers SET note = NULL;');
    assert.notEqual(await fingerprint(db), before);
    const r = await runCli(['restore', 'postgres', '--env', 'staging', '--latest'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await fingerprint(db), before);
    const leftovers = await psql('postgres', `SELECT datname FROM pg_database WHERE datname LIKE '${db}__igb_%'`);
    assert.equal(leftovers, '');
  });

  it('--keep-old keeps the replaced database; compression none round-trips', async () => {
    const b = await runCli(['--json', 'backup', 'postgres', '--env', 'staging', '--compression', 'none'], { cwd: dir });
    assert.equal(b.code, 0, b.stderr);
    const key = parseJson<BackupJson>(b).results[0]!.key;
    assert.match(key, /\.dump$/);
    const r = await runCli(
      ['--json', 'restore', 'postgres', '--env', 'staging', '--from', key, '--keep-old', '--jobs', '2'],
      { cwd: dir },
    );
    assert.equal(r.code, 0, r.stderr);
    const kept = parseJson<{ result: { keptOldAs: string } }>(r).result.keptOldAs;
    assert.match(kept, /__igb_old_/);
    assert.equal(await fingerprint(kept), await fingerprint(db));
    await dropDatabase(kept);
  });

  it('a protected env refuses a restore without --yes in a non-interactive run (exit 5), touching nothing', async () => {
    const before = await fingerprint(db);
    const r = await runCli(['restore', 'postgres', '--env', 'prod', '--latest'], { cwd: dir });
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /protected.*--yes/);
    assert.equal(await fingerprint(db), before);
  });

  it('restores globals (roles) first with --with-globals', async () => {
    const role = uniqueName('igb_role').replace(/-/g, '_');
    await psql('postgres', `CREATE ROLE ${role} NOLOGIN;`);
    const b = await runCli(['--json', 'backup', 'postgres', '--env', 'prod'], { cwd: dir });
    assert.equal(b.code, 0, b.stderr);
    await psql('postgres', `DROP ROLE ${role};`);
    const scratch = uniqueName('igb_glob');
    const key = parseJson<BackupJson>(b).results[0]!.key;
    const r = await runCli(
      ['restore', 'postgres', '--env', 'prod', '--from', key, '--target-db', scratch, '--with-globals', '--yes'],
      { cwd: dir },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await psql('postgres', `SELECT count(*) FROM pg_roles WHERE rolname = '${role}'`), '1');
    await dropDatabase(scratch);
    await psql('postgres', `DROP ROLE ${role};`);
  });
});
