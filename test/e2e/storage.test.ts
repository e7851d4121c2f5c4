// storage init/check against the real RADOS Gateway: plan, idempotent set-up, audit, drift after changes by hand,
// and what this server lacks reported as unsupported (never leaving a bucket igbackup cannot write to).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  GetBucketLifecycleConfigurationCommand,
  HeadBucketCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketVersioningCommand,
} from '@aws-sdk/client-s3';
import { parseJson, pgSection, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { makeDatabase, s3Client, uniqueName } from '../helpers/servers.js';

interface Report {
  ok: boolean;
  items: { item: string; status: string; detail: string }[];
}
const statusOf = (r: Report): Record<string, string> => Object.fromEntries(r.items.map((i) => [i.item, i.status]));

describe('storage init and check', () => {
  it('plans, sets up idempotently, audits ok, reports drift after changes by hand, and backups still work', async () => {
    const dir = await tempDir();
    const bucket = uniqueName('igb-gov');
    const db = await makeDatabase(uniqueName('igb_gov'), 100);
    await writeConfig(dir, {
      envs: {
        prod: { storage: s3Storage(bucket, { lifecycle: { transitionAfterDays: 30 } }), postgres: pgSection([db]) },
      },
    });

    const plan = await runCli(['--json', 'storage', 'init', '--env', 'prod', '--dry-run'], { cwd: dir });
    assert.equal(plan.code, 0, plan.stderr);
    assert.ok(parseJson<Report>(plan).items.every((i) => i.status === 'planned'));
    await assert.rejects(s3Client().send(new HeadBucketCommand({ Bucket: bucket })), 'dry-run created the bucket');

    const first = await runCli(['--json', 'storage', 'init', '--env', 'prod'], { cwd: dir });
    assert.equal(first.code, 0, first.stderr);
    const s1 = statusOf(parseJson<Report>(first));
    assert.equal(s1.bucket, 'applied');
    assert.equal(s1.versioning, 'applied');
    assert.equal(s1.lifecycle, 'applied');
    assert.equal(s1['default-encryption'], 'unsupported', 'radosgw 16 has no PutBucketEncryption');

    const second = await runCli(['--json', 'storage', 'init', '--env', 'prod'], { cwd: dir });
    assert.equal(second.code, 0, second.stderr);
    assert.ok(
      parseJson<Report>(second).items.every((i) => i.status === 'ok' || i.status === 'unsupported'),
      second.stdout,
    );

    const lc = await s3Client().send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }));
    const rule = lc.Rules?.find((r) => r.ID === 'igbackup-prod');
    assert.equal(rule?.Transitions?.[0]?.StorageClass, 'GLACIER');
    assert.equal(rule?.Transitions?.[0]?.Days, 30);
    assert.equal(rule?.AbortIncompleteMultipartUpload?.DaysAfterInitiation, 7);

    const check = await runCli(['--json', 'storage', 'check', '--env', 'prod'], { cwd: dir });
    assert.equal(check.code, 0, check.stderr);
    const c = statusOf(parseJson<Report>(check));
    assert.equal(c.versioning, 'ok');
    assert.equal(c.lifecycle, 'ok');
    assert.equal(c['kms-multipart'], 'ok');
    assert.ok(Object.values(c).every((s) => s === 'ok' || s === 'unsupported'));

    // The bucket igbackup set up still takes backups.
    const b = await runCli(['backup', 'postgres', '--env', 'prod'], { cwd: dir });
    assert.equal(b.code, 0, b.stderr);

    await s3Client().send(
      new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Suspended' } }),
    );
    await s3Client().send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: bucket,
        LifecycleConfiguration: { Rules: [{ ...rule, Transitions: [{ Days: 365, StorageClass: 'GLACIER' }] }] },
      }),
    );
    const drift = await runCli(['--json', 'storage', 'check', '--env', 'prod'], { cwd: dir });
    assert.equal(drift.code, 6, drift.stderr);
    const d = parseJson<Report>(drift);
    assert.equal(statusOf(d).versioning, 'drift');
    assert.equal(statusOf(d).lifecycle, 'drift');
    assert.match(d.items.find((i) => i.item === 'lifecycle')?.detail ?? '', /after 365 days \(want GLACIER after 30\)/);

    const fixed = await runCli(['storage', 'init', '--env', 'prod'], { cwd: dir });
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.equal((await runCli(['storage', 'check', '--env', 'prod'], { cwd: dir })).code, 0);
  });

  it('refuses file stores with a clear message', async () => {
    const dir = await tempDir();
    await writeConfig(dir, { envs: { local: { storage: { type: 'file', path: './b' } } } });
    const r = await runCli(['storage', 'check', '--env', 'local'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /storage init\/check apply to s3 stores/);
  });

  it('an endpoint that cannot be reached is exit 1 naming the items, not drift (exit 6)', async () => {
    const dir = await tempDir();
    await writeConfig(dir, {
      envs: { prod: { storage: s3Storage(uniqueName('igb-gov'), { endpoint: 'http://127.0.0.1:9' }) } },
    });
    const r = await runCli(['--json', 'storage', 'check', '--env', 'prod'], { cwd: dir });
    assert.equal(r.code, 1, r.stderr);
    const j = parseJson<Report>(r);
    assert.equal(j.ok, false);
    assert.deepEqual(statusOf(j), { bucket: 'failed' });
    assert.match(r.stderr, /could not check or apply: bucket \(.*ECONNREFUSED 127\.0\.0\.1:9\)/);
  });
});
