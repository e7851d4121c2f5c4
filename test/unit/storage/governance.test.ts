// Bucket governance rules as data: the lifecycle rule igbackup owns, drift text, policy statements.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ruleDrift, wantedPitrRule, wantedRule, wantedStatements } from '../../../src/storage/governance/index.js';

const cfg = {
  type: 's3' as const,
  bucket: 'b',
  prefix: 'team',
  region: 'eu-central-1',
  kmsKeyId: 'k',
  checksums: 'auto' as const,
  queueSize: 2,
  minPartSizeMiB: 8,
  memoryBudgetMiB: 192,
  lifecycle: {
    transitionAfterDays: 30,
    storageClass: 'GLACIER' as const,
    abortIncompleteUploadsAfterDays: 7,
    noncurrentVersionExpirationDays: 90,
  },
};

describe('governance rules', () => {
  it('owns one lifecycle rule per env prefix', () => {
    const r = wantedRule(cfg, 'prod');
    assert.equal(r.ID, 'igbackup-prod');
    assert.deepEqual(r.Filter, { Prefix: 'team/prod/' });
    assert.equal(ruleDrift(r, r), undefined);
    assert.match(ruleDrift({ ...r, Transitions: [{ Days: 60, StorageClass: 'GLACIER' }] }, r) ?? '', /after 60 days/);
    assert.match(ruleDrift(undefined, r) ?? '', /no lifecycle rule "igbackup-prod"/);
  });

  it("owns a rule for the env's pgBackRest repository beside the env's folder: never archived, versions expired", () => {
    const r = wantedPitrRule(cfg, 'prod');
    assert.equal(r.ID, 'igbackup-prod-pgbackrest');
    assert.deepEqual(r.Filter, { Prefix: 'team/pgbackrest/prod/' });
    assert.equal(r.Transitions, undefined, 'pgBackRest must read its WAL archive at any time');
    assert.equal(r.NoncurrentVersionExpiration?.NoncurrentDays, 90);
    assert.equal(ruleDrift(r, r), undefined);
    assert.match(
      ruleDrift({ ...r, Transitions: [{ Days: 30, StorageClass: 'GLACIER' }] }, r) ?? '',
      /transition GLACIER/,
    );
  });

  it('denies non-TLS only where the endpoint is TLS, and non-KMS puts without breaking multipart parts', () => {
    assert.deepEqual(
      wantedStatements('b', true, true).map((s) => s.Sid),
      ['IgbackupDenyInsecureTransport', 'IgbackupDenyNonKmsPuts'],
    );
    assert.deepEqual(
      wantedStatements('b', true, false).map((s) => s.Sid),
      ['IgbackupDenyNonKmsPuts'],
    );
    assert.match(JSON.stringify(wantedStatements('b', true, false)), /StringNotEqualsIfExists/);
  });
});
