// Immutable backups on the test S3 (RADOS Gateway with Object Lock): storage init creates the bucket with Object Lock
// and the default retention, every artifact and manifest carries its retention explicitly, a locked version cannot be
// deleted, and igbackup's own lock leases and probes are released with delete markers.

import assert from 'node:assert/strict';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { describe, it } from 'node:test';
import { BIN, ROOT, parseJson, pgSection, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { addBucketStatements, rgwUser, type RgwUser } from '../helpers/rgw-users.js';
import { makeDatabase, pendingUploads, pg, s3, s3Client, uniqueName } from '../helpers/servers.js';
import { execa } from 'execa';

interface Report {
  items: { item: string; status: string; detail: string }[];
}

describe('immutable backups (Object Lock)', () => {
  it('storage init creates a locked bucket; a backup is locked COMPLIANCE for the retention; no one deletes it', async () => {
    const dir = await tempDir();
    const bucket = uniqueName('igb-lock');
    const db = await makeDatabase(uniqueName('igb_lock'), 200);
    await writeConfig(dir, {
      envs: {
        prod: {
          storage: s3Storage(bucket, { immutability: { mode: 'COMPLIANCE', days: 2 } }),
          postgres: pgSection([db]),
        },
      },
    });
    const cli = (...args: string[]) => runCli(args, { cwd: dir });
    const init = await cli('--json', 'storage', 'init', '--env', 'prod');
    assert.equal(init.code, 0, init.stderr);
    const items = Object.fromEntries(parseJson<Report>(init).items.map((i) => [i.item, i]));
    assert.equal(items['object-lock']?.status, 'applied', init.stdout);
    const check = await cli('--json', 'storage', 'check', '--env', 'prod');
    assert.equal(check.code, 0, check.stderr);
    assert.equal(parseJson<Report>(check).items.find((i) => i.item === 'object-lock')?.status, 'ok', check.stdout);

    const b = await cli('--json', 'backup', 'postgres', '--env', 'prod');
    assert.equal(b.code, 0, b.stderr);
    const key = parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
    for (const k of [key, `${key}.manifest.json`]) {
      const h = await s3Client().send(new HeadObjectCommand({ Bucket: bucket, Key: k }));
      assert.equal(h.ObjectLockMode, 'COMPLIANCE', k);
      const days = ((h.ObjectLockRetainUntilDate?.getTime() ?? 0) - Date.now()) / 86_400_000;
      assert.ok(days > 1.9 && days <= 2, `${k} locked for ${days} days`);
      await assert.rejects(
        s3Client().send(new DeleteObjectCommand({ Bucket: bucket, Key: k, VersionId: h.VersionId })),
        refused,
      );
    }
    const v = await cli('--json', 'verify', 'postgres', '--env', 'prod', '--from', key);
    assert.equal(v.code, 0, v.stderr);
    const lock = parseJson<{ result: { lock?: { mode: string; until: string } } }>(v).result.lock;
    assert.equal(lock?.mode, 'COMPLIANCE');
    assert.ok(Date.parse(lock?.until ?? '') > Date.now() + 47 * 3_600_000, JSON.stringify(lock));
    const st = await cli('--json', 'status', '--env', 'prod');
    const row = parseJson<{ rows: { lockedUntil?: string; lockMode?: string }[] }>(st).rows[0];
    assert.equal(row?.lockMode, 'COMPLIANCE');
    assert.ok(Date.parse(row?.lockedUntil ?? '') > Date.now(), JSON.stringify(row));
    const doc = await cli('--json', 'doctor', '--env', 'prod');
    const checks = parseJson<{ checks: { check: string; status: string }[] }>(doc).checks;
    assert.equal(checks.find((c) => c.check === 'immutable backups')?.status, 'ok', JSON.stringify(checks));
    const r = await cli('restore', 'postgres', '--env', 'prod', '--from', key, '--target-db', `${db}_r`, '--yes');
    assert.equal(r.code, 0, r.stderr);
    const versions = await s3Client().send(
      new ListObjectVersionsCommand({ Bucket: bucket, Prefix: 'prod/.igbackup/' }),
    );
    assert.ok(
      (versions.DeleteMarkers ?? []).some((m) => m.Key?.includes('/locks/') && m.IsLatest),
      'the released lock is a delete marker over its locked versions',
    );
  });
});

describe('immutability on a bucket created without Object Lock', () => {
  it('storage init says what it cannot do (exit 1), and a backup is refused naming the missing Object Lock', async () => {
    const dir = await tempDir();
    const bucket = uniqueName('igb-nolock');
    const db = await makeDatabase(uniqueName('igb_nolock'), 50);
    const env = (extra: Record<string, unknown>) => ({
      envs: { prod: { storage: s3Storage(bucket, extra), postgres: pgSection([db]) } },
    });
    await writeConfig(dir, env({}));
    const cli = (...args: string[]) => runCli(args, { cwd: dir });
    assert.equal((await cli('storage', 'init', '--env', 'prod')).code, 0);
    await writeConfig(dir, env({ immutability: { mode: 'GOVERNANCE', days: 1 } }));
    const init = await cli('--json', 'storage', 'init', '--env', 'prod');
    assert.equal(init.code, 1, init.stderr);
    const item = parseJson<Report>(init).items.find((i) => i.item === 'object-lock');
    assert.equal(item?.status, 'failed');
    assert.match(
      item?.detail ?? '',
      /does not enable Object Lock on a bucket created without it: point the env at a new bucket/,
    );
    const b = await cli('backup', 'postgres', '--env', 'prod');
    assert.equal(b.code, 1, b.stderr);
    assert.match(b.stderr, /refused with its Object Lock retention .*the bucket has no Object Lock enabled/);
    assert.deepEqual(await pendingUploads(bucket), []);
  });
});

describe('least privilege on the test S3 (a second and third RGW user, rights from `storage policy`)', () => {
  async function setup(immutable: boolean) {
    const dir = await tempDir();
    const bucket = uniqueName('igb-roles');
    const db = await makeDatabase(uniqueName('igb_roles'), 200);
    const storage = s3Storage(bucket, immutable ? { immutability: { mode: 'COMPLIANCE', days: 1 } } : {});
    await writeConfig(dir, { envs: { prod: { storage, postgres: pgSection([db]) } } });
    const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { cwd: dir, env });
    assert.equal((await cli(['storage', 'init', '--env', 'prod'])).code, 0);
    const backup = await rgwUser('backup');
    const pruner = await rgwUser('prune');
    for (const [role, user] of [
      ['backup', backup],
      ['prune', pruner],
    ] as const) {
      const p = await cli([
        'storage',
        'policy',
        '--env',
        'prod',
        '--role',
        role,
        '--format',
        'json',
        '--principal',
        user.arn,
      ]);
      assert.equal(p.code, 0, p.stderr);
      await addBucketStatements(
        bucket,
        parseJson<{ bucketPolicy: { Statement: unknown[] } }>(p).bucketPolicy.Statement,
      );
    }
    return { dir, bucket, db, cli, backup, pruner };
  }

  it('on a locked bucket: the backup role backs up and restores; nobody deletes a locked version; prune reports it locked', async () => {
    const { bucket, db, cli, backup, pruner } = await setup(true);
    const keys: string[] = [];
    for (let i = 0; i < 2; i++) {
      const b = await cli(['--json', 'backup', 'postgres', '--env', 'prod'], backup.env);
      assert.equal(b.code, 0, b.stderr);
      keys.push(parseJson<{ results: { key: string }[] }>(b).results[0]!.key);
    }
    const r = await cli(
      ['restore', 'postgres', '--env', 'prod', '--from', keys[0]!, '--target-db', `${db}_r`, '--yes'],
      backup.env,
    );
    assert.equal(r.code, 0, r.stderr);

    const p = await cli(
      ['--json', 'prune', 'postgres', '--env', 'prod', '--keep-last', '1', '--keep-days', '0', '--yes'],
      pruner.env,
    );
    assert.equal(p.code, 0, p.stderr);
    const pr = parseJson<{ removed: unknown[]; locked: { key: string; kind: string; lockedUntil: string }[] }>(p);
    assert.deepEqual(pr.removed, [], 'a locked backup is never reported as removed');
    assert.ok(
      pr.locked.some((l) => l.kind === 'backup' && keys.some((k) => l.key === k)),
      JSON.stringify(pr.locked),
    );
    assert.ok(pr.locked.every((l) => Date.parse(l.lockedUntil) > Date.now() + 23 * 3_600_000));
    assert.equal((await cli(['verify', 'postgres', '--env', 'prod', '--from', keys[0]!], pruner.env)).code, 0);
    // The backup role can neither delete nor replace what it wrote: a delete of the version is refused, a new write
    // to the key is only a newer version over the locked one, which stays as it was.
    const asBackup = tlsClient(backup);
    const head = await tlsClient(pruner).send(new HeadObjectCommand({ Bucket: bucket, Key: keys[0] }));
    // The prune role may delete versions, and the bucket owner owns the bucket: neither can remove a locked one.
    for (const client of [asBackup, tlsClient(pruner), tlsClient()])
      await assert.rejects(
        client.send(new DeleteObjectCommand({ Bucket: bucket, Key: keys[0], VersionId: head.VersionId })),
        refused,
      );
    const original = await (
      await tlsClient(pruner).send(new GetObjectCommand({ Bucket: bucket, Key: keys[0], VersionId: head.VersionId }))
    ).Body!.transformToByteArray();
    await asBackup.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: keys[0],
        Body: 'ransom note',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: s3.kmsKeyId,
      }),
    );
    const after = await (
      await tlsClient(pruner).send(new GetObjectCommand({ Bucket: bucket, Key: keys[0], VersionId: head.VersionId }))
    ).Body!.transformToByteArray();
    assert.deepEqual(Buffer.from(after), Buffer.from(original), 'the locked version is untouched');
  });

  it('on a plain versioned bucket: prune with the backup role fails naming the permission; the prune role removes', async () => {
    const { cli, backup, pruner } = await setup(false);
    for (let i = 0; i < 2; i++) assert.equal((await cli(['backup', 'postgres', '--env', 'prod'], backup.env)).code, 0);
    const args = ['--json', 'prune', 'postgres', '--env', 'prod', '--keep-last', '1', '--keep-days', '0', '--yes'];
    const denied = await cli(args, backup.env);
    assert.equal(denied.code, 1, denied.stderr);
    assert.match(denied.stderr, /prune needs s3:DeleteObject on prod\/postgres\/\*: deleting .* was refused/);
    assert.match(denied.stderr, /prune role/);
    const ok = await cli(args, pruner.env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(parseJson<{ removed: unknown[] }>(ok).removed.length, 1);
  });

  it('the failure paths under the backup role: a killed dump aborts its upload; a completed artifact the lock keeps is named and listed as an orphan', async () => {
    const { dir, bucket, db, cli, backup } = await setup(true);
    const storage = s3Storage(bucket, { immutability: { mode: 'COMPLIANCE', days: 1 } });
    // A producer killed, one that exits non-zero after a complete dump, and a SIGTERM while it hangs: each ends with
    // no upload left open, no manifest, and the lock released (a delete marker: all the backup role may do; a lock
    // left behind would make the next run exit 7).
    for (const fault of ['pgkill', 'pgfail', 'pgstall']) {
      const binDir = join(ROOT, 'test', 'fixtures', fault);
      await writeConfig(dir, { envs: { prod: { storage, postgres: pgSection([db], { binDir }) } } });
      const child = execa('node', [BIN, 'backup', 'postgres', '--env', 'prod'], {
        cwd: dir,
        env: { NO_COLOR: '1', TEST_PG_PASSWORD: pg.password, ...backup.env },
        reject: false,
      });
      if (fault === 'pgstall') setTimeout(() => child.kill('SIGTERM'), 3000);
      const r = await child;
      assert.equal(r.exitCode, fault === 'pgstall' ? 130 : 1, `${fault}: ${String(r.stderr)}`);
      assert.deepEqual(await pendingUploads(bucket), [], `${fault}: the multipart upload was aborted`);
      const listed = parseJson<{ backups: unknown[]; suspects: unknown[] }>(
        await cli(['--json', 'list', 'postgres', '--env', 'prod'], backup.env),
      );
      assert.deepEqual([listed.backups, listed.suspects], [[], []], fault);
    }

    // A bug after the artifact was stored: it cannot be removed (locked), and igbackup says so, key, version and date.
    await writeConfig(dir, { envs: { prod: { storage, postgres: pgSection([db]) } } });
    const hook = join(ROOT, 'test', 'fixtures', 'bin', 'internal-bug.cjs');
    const bug = await cli(['backup', 'postgres', '--env', 'prod'], {
      ...backup.env,
      NODE_OPTIONS: `--require=${hook}`,
      IGB_TEST_BUG_IN: 'writeManifest',
    });
    assert.equal(bug.code, 70, bug.stderr);
    assert.match(
      bug.stderr,
      /\(version \S+\) was stored completely and is locked COMPLIANCE until \d{4}-\d\d-\d\dT[\d:.]+Z \(Object Lock\), so it could not be removed/,
    );
    const after = parseJson<{ backups: unknown[]; orphans: { key: string }[] }>(
      await cli(['--json', 'list', 'postgres', '--env', 'prod'], backup.env),
    );
    assert.deepEqual(after.backups, []);
    assert.equal(after.orphans.length, 1, 'the locked artifact without a manifest is an orphan, never a backup');
  });
});

/** S3 refused the request (403: RGW's AccessDenied comes with an empty message, which the SDK calls UnknownError). */
function refused(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.$metadata?.httpStatusCode === 403 || e.name === 'AccessDenied';
}

/** A client over TLS (igbackup's bucket policy denies plain HTTP to everyone), as the user or as the admin. */
function tlsClient(u?: RgwUser): S3Client {
  const env = u?.env ?? process.env;
  return new S3Client({
    region: 'us-east-1',
    endpoint: s3.tlsEndpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({ httpsAgent: new Agent({ ca: readFileSync(s3.caFile) }) }),
  });
}
