// Storage policies are pure: what each role may do on which keys of one env, checked via `allows` and the documents.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  POLICY_ROLES,
  bucketPolicyStatements,
  identityPolicy,
  type PolicyInput,
  type PolicyStatement,
} from '../../../src/domain/s3-policy.js';
import { allows } from '../../helpers/s3-policy-eval.js';

const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const input: PolicyInput = { bucket: 'B', storePrefix: '', env: 'prod', kmsKeyId: KEY_ARN };
const nested: PolicyInput = { ...input, storePrefix: 'a/b' };

const resources = (st: PolicyStatement): string[] => (Array.isArray(st.Resource) ? st.Resource : [st.Resource]);
const allActions = (sts: PolicyStatement[]): string[] => sts.flatMap((st) => st.Action);

describe('identityPolicy / allows: backup', () => {
  it('writes, reads and aborts uploads of artifacts but never deletes them', () => {
    const key = 'prod/postgres/x.dump.zst';
    for (const action of ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload', 's3:PutObjectRetention']) {
      assert.equal(allows('backup', input, action, key), true, action);
    }
    assert.equal(allows('backup', input, 's3:DeleteObject', key), false);
    assert.equal(allows('backup', input, 's3:DeleteObject', 'prod/postgres/x.dump.zst.manifest.json'), false);
    assert.equal(allows('backup', input, 's3:DeleteObject', 'prod/.igbackup/drills/postgres/d.json'), false);
    assert.equal(allows('backup', input, 's3:DeleteObject', 'prod/.igbackup/storage-init.json'), false);
    for (const k of [key, 'prod/postgres/x.dump.zst.manifest.json', 'prod/.igbackup/drills/postgres/d.json'])
      assert.equal(allows('backup', input, 's3:DeleteObjectVersion', k), false, k);
  });

  it('releases lock leases and storage probes', () => {
    assert.equal(allows('backup', input, 's3:DeleteObject', 'prod/.igbackup/locks/backup-postgres.json'), true);
    assert.equal(allows('backup', input, 's3:DeleteObject', 'prod/.igbackup-check/kms-1'), true);
    assert.equal(allows('backup', input, 's3:DeleteObjectVersion', 'prod/.igbackup-check/kms-1'), true);
    assert.equal(allows('backup', input, 's3:DeleteObjectVersion', 'prod/.igbackup/locks/backup-postgres.json'), true);
    for (const role of ['backup', 'restore'] as const) {
      assert.equal(allows(role, input, 's3:GetBucketObjectLockConfiguration'), true, role);
      assert.equal(allows(role, input, 's3:PutObject', 'prod/.igbackup-check/kms-1'), true, role);
    }
  });
});

describe('identityPolicy / allows: restore, prune, admin', () => {
  it('restore reads everything but writes only control objects', () => {
    assert.equal(allows('restore', input, 's3:GetObject', 'prod/postgres/x'), true);
    assert.equal(allows('restore', input, 's3:PutObject', 'prod/postgres/x'), false);
    assert.equal(allows('restore', input, 's3:PutObject', 'prod/.igbackup/locks/x'), true);
    assert.equal(allows('restore', input, 's3:DeleteObject', 'prod/postgres/x'), false);
    assert.equal(allows('restore', input, 's3:DeleteObject', 'prod/.igbackup/locks/x'), true);
  });

  it('prune deletes versions; no role bypasses governance retention or sets legal holds', () => {
    assert.equal(allows('prune', input, 's3:DeleteObjectVersion', 'prod/redis/x.rdb'), true);
    assert.equal(allows('prune', input, 's3:PutObject', 'prod/redis/x.rdb'), false);
    for (const role of POLICY_ROLES) {
      const actions = allActions(identityPolicy(role, input).Statement);
      assert.ok(!actions.includes('s3:BypassGovernanceRetention'), role);
      assert.ok(!actions.includes('s3:PutObjectLegalHold'), role);
      assert.ok(!actions.some((a) => a.includes('*')), role);
    }
  });

  it('admin sets the bucket up and may do everything prune may', () => {
    assert.equal(allows('admin', input, 's3:PutBucketObjectLockConfiguration'), true);
    assert.equal(allows('admin', input, 's3:DeleteObjectVersion', 'prod/redis/x.rdb'), true);
    assert.equal(allows('admin', input, 's3:PutObject', 'prod/postgres/x'), true);
    assert.equal(allows('prune', input, 's3:PutBucketObjectLockConfiguration'), false);
    assert.equal(allows('backup', input, 's3:PutBucketPolicy'), false);
  });
});

describe('identityPolicy / allows: scope', () => {
  it('allows nothing on another env or a sibling prefix, to any role', () => {
    const actions = [...new Set(POLICY_ROLES.flatMap((r) => allActions(identityPolicy(r, input).Statement)))];
    for (const role of POLICY_ROLES) {
      for (const action of actions.filter((a) => a.startsWith('s3:'))) {
        for (const key of ['other/postgres/x', 'prodx/postgres/x', 'prodx/.igbackup/locks/x', 'prod']) {
          assert.equal(allows(role, input, action, key), false, `${role} ${action} ${key}`);
        }
      }
    }
  });

  it('lists the env prefix for every role; versions of other prefixes for none; ListBucket is bucket-wide (HeadObject answers 404, not 403)', () => {
    for (const role of POLICY_ROLES) {
      assert.equal(allows(role, input, 's3:ListBucket', undefined, 'other/'), true, role);
      assert.equal(allows(role, input, 's3:ListBucket'), true, role);
      for (const action of ['s3:ListBucketVersions']) {
        assert.equal(allows(role, input, action, undefined, 'prod/postgres/'), true, `${role} ${action}`);
        assert.equal(allows(role, input, action, undefined, 'prod/'), true, `${role} ${action}`);
        assert.equal(allows(role, input, action, undefined, 'other/'), false, `${role} ${action}`);
        assert.equal(allows(role, input, action, undefined, 'prodx/'), false, `${role} ${action}`);
        assert.equal(allows(role, input, action, undefined, ''), false, `${role} ${action}`);
        assert.equal(allows(role, input, action), false, `${role} ${action} without prefix`);
      }
    }
  });

  it('puts a store prefix in front of the env', () => {
    const doc = identityPolicy('backup', nested);
    const write = doc.Statement.find((st) => st.Sid === 'IgbackupBackupWrite');
    assert.equal(write?.Resource, 'arn:aws:s3:::B/a/b/prod/*');
    const list = doc.Statement.find((st) => st.Sid === 'IgbackupBackupListVersions');
    assert.deepEqual(list?.Condition, { StringLike: { 's3:prefix': ['a/b/prod/', 'a/b/prod/*'] } });
    assert.equal(allows('backup', nested, 's3:PutObject', 'a/b/prod/postgres/x'), true);
    assert.equal(allows('backup', nested, 's3:PutObject', 'prod/postgres/x'), false);
    assert.equal(allows('backup', { ...input, storePrefix: '/a/b/' }, 's3:PutObject', 'a/b/prod/postgres/x'), true);
  });
});

describe('identityPolicy: document shape', () => {
  it('has unique alphanumeric Sids, sorted actions and a KMS statement', () => {
    for (const role of POLICY_ROLES) {
      const doc = identityPolicy(role, input);
      assert.equal(doc.Version, '2012-10-17');
      const sids = doc.Statement.map((st) => st.Sid);
      assert.equal(new Set(sids).size, sids.length, role);
      for (const st of doc.Statement) {
        assert.match(st.Sid, /^[A-Za-z0-9]+$/);
        assert.equal(st.Effect, 'Allow');
        assert.deepEqual(st.Action, [...st.Action].sort());
      }
      const kms = doc.Statement.find((st) => st.Action.some((a) => a.startsWith('kms:')));
      assert.deepEqual(kms?.Action, ['kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKey']);
      assert.equal(kms?.Resource, KEY_ARN);
      assert.equal(kms?.Condition, undefined);
    }
  });

  it('turns a key id into a key ARN pattern and an alias into a kms:ResourceAliases condition', () => {
    const kmsOf = (kmsKeyId: string) =>
      identityPolicy('backup', { ...input, kmsKeyId }).Statement.find((st) => st.Sid === 'IgbackupBackupKms');
    assert.equal(kmsOf('1234abcd')?.Resource, 'arn:aws:kms:*:*:key/1234abcd');
    const alias = kmsOf('alias/igbackup-prod');
    assert.equal(alias?.Resource, 'arn:aws:kms:*:*:key/*');
    assert.deepEqual(alias?.Condition, {
      'ForAnyValue:StringEquals': { 'kms:ResourceAliases': ['alias/igbackup-prod'] },
    });
    const aliasArn = kmsOf('arn:aws:kms:eu-west-1:111122223333:alias/igbackup-prod');
    assert.equal(aliasArn?.Resource, 'arn:aws:kms:eu-west-1:111122223333:key/*');
    assert.deepEqual(aliasArn?.Condition, alias?.Condition);
  });

  it('rejects bad input, naming the problem', () => {
    const bad: [Partial<PolicyInput>, RegExp][] = [
      [{ bucket: '' }, /bucket/],
      [{ env: '' }, /env/],
      [{ env: 'a/b' }, /env.*"\/"/],
      [{ env: 'pro*' }, /env.*wildcards/],
      [{ storePrefix: 'a/*' }, /storePrefix/],
      [{ kmsKeyId: '' }, /kmsKeyId/],
      [{ kmsKeyId: '*' }, /kmsKeyId/],
    ];
    for (const [change, message] of bad) {
      assert.throws(() => identityPolicy('backup', { ...input, ...change }), message);
      assert.throws(
        () => bucketPolicyStatements('backup', { ...input, ...change }, ['arn:aws:iam::1:user/x']),
        message,
      );
    }
  });
});

describe('bucketPolicyStatements', () => {
  const principals = ['arn:aws:iam:::user/igbackup-prod', 'arn:aws:iam:::user/ops'];

  it('has no kms actions and every statement carries the principals', () => {
    for (const role of POLICY_ROLES) {
      const sts = bucketPolicyStatements(role, input, principals);
      assert.ok(sts.length > 0);
      assert.ok(!allActions(sts).some((a) => a.startsWith('kms:')), role);
      for (const st of sts) {
        assert.deepEqual(st.Principal, { AWS: principals });
        assert.ok(resources(st).every((r) => r.startsWith('arn:aws:s3:::B')));
      }
    }
  });

  it('matches the identity policy without KMS, with env- and role-prefixed Sids unique across a shared policy', () => {
    const backup = bucketPolicyStatements('backup', input, principals);
    assert.equal(backup[0]?.Sid, 'IgbackupProdBackupWrite');
    const identity = identityPolicy('backup', input).Statement.filter((st) => !st.Sid.endsWith('Kms'));
    assert.deepEqual(
      backup.map(({ Sid: _s, Principal: _p, ...rest }) => rest),
      identity.map(({ Sid: _s, ...rest }) => rest),
    );
    const shared = [
      ...POLICY_ROLES.flatMap((r) => bucketPolicyStatements(r, input, principals)),
      ...POLICY_ROLES.flatMap((r) => bucketPolicyStatements(r, { ...input, env: 'eu-prod_2' }, principals)),
    ];
    const sids = shared.map((st) => st.Sid);
    assert.equal(new Set(sids).size, sids.length);
    assert.ok(sids.every((sid) => /^[A-Za-z0-9]+$/.test(sid)));
    assert.ok(sids.includes('IgbackupEuProd2AdminBucketSetup'));
  });

  it('rejects an empty principal list', () => {
    assert.throws(() => bucketPolicyStatements('backup', input, []), /principals/);
    assert.throws(() => bucketPolicyStatements('backup', input, ['']), /principals/);
  });
});

describe('pgBackRest repository (postgres.pitr)', () => {
  it('every role may write, read and delete in its env repository when PITR is on, and nowhere when it is off', () => {
    const pitr = { ...input, pitr: true };
    for (const role of POLICY_ROLES) {
      for (const action of ['s3:PutObject', 's3:GetObject', 's3:DeleteObject']) {
        assert.equal(allows(role, pitr, action, 'pgbackrest/prod/main/archive/main/x.gz'), true, `${role} ${action}`);
        assert.equal(allows(role, pitr, action, 'pgbackrest/other/main/x'), false, `${role} ${action} other env`);
        assert.equal(allows(role, input, action, 'pgbackrest/prod/main/x'), false, `${role} ${action} without pitr`);
      }
      assert.equal(allows(role, pitr, 's3:DeleteObjectVersion', 'pgbackrest/prod/main/x'), false, role);
    }
    const nested = identityPolicy('backup', { ...pitr, storePrefix: 'a/b' });
    assert.equal(
      nested.Statement.find((st) => st.Sid === 'IgbackupBackupPgbackrest')?.Resource,
      'arn:aws:s3:::B/a/b/pgbackrest/prod/*',
    );
  });
});
