// Pure rules: key layout, manifest parsing and ordering, multipart sizing, names.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  artifactKey,
  checkKeyInPrefix,
  enginePrefix,
  keyTimestamp,
  normalizeUserKey,
  toManifestKey,
} from '../../../src/domain/keys.js';
import {
  MANIFEST_SCHEMA,
  parseManifest,
  serializeManifest,
  sortNewestFirst,
  type Manifest,
} from '../../../src/domain/manifest.js';
import { choosePartSize, maxObjectSize, partCap, uploadSizing, GiB, MiB, TiB } from '../../../src/domain/parts.js';
import { keySafeName, quoteIdent, quoteLiteral } from '../../../src/domain/names.js';

const sample: Manifest = {
  schema: MANIFEST_SCHEMA,
  igbackupVersion: '0.1.0',
  engine: 'postgres',
  env: 'prod',
  target: { database: 'app', transport: 'local' },
  format: 'pg_dump-custom',
  compression: 'zstd',
  artifacts: [
    {
      role: 'dump',
      key: 'prod/postgres/a',
      bytes: 10,
      sha256: 'a'.repeat(64),
      rawBytes: 20,
      rawSha256: 'b'.repeat(64),
    },
  ],
  tools: { pg_dump: '15.18' },
  startedAt: '2026-11-24T10:00:00.000Z',
  finishedAt: '2026-11-24T10:00:05.000Z',
  durationMs: 5000,
  sourceHost: 'h',
  createdBy: 'u@h',
  encryption: { sse: 'aws:kms', kmsKeyId: 'k' },
};

describe('keys', () => {
  it('lays out <prefix>/<env>/<engine>/<name>_<UTC>.<ext>', () => {
    const at = new Date('2026-11-24T11:01:48.123Z');
    assert.equal(keyTimestamp(at), '20261124T110148.123Z');
    assert.equal(
      artifactKey({
        storePrefix: 'team/',
        env: 'prod',
        engine: 'postgres',
        name: 'app',
        startedAt: at,
        extension: '.dump.zst',
      }),
      'team/prod/postgres/app_20261124T110148.123Z.dump.zst',
    );
    assert.equal(enginePrefix('', 'prod', 'postgres'), 'prod/postgres/');
  });

  it('encodes database names that are unsafe in keys', () => {
    assert.equal(keySafeName("it's a db/x"), 'it%27s%20a%20db%2Fx');
    assert.equal(keySafeName('plain_db-1'), 'plain_db-1');
  });

  it('checks user keys against the env prefix', () => {
    assert.equal(checkKeyInPrefix('prod/postgres/a.dump', 'prod/postgres/'), undefined);
    assert.match(checkKeyInPrefix('dev/postgres/a.dump', 'prod/postgres/') ?? '', /outside/);
    assert.match(checkKeyInPrefix('prod/postgres/../../etc', 'prod/postgres/') ?? '', /\.\./);
    assert.match(checkKeyInPrefix('prod/postgres/', 'prod/postgres/') ?? '', /folder/);
    assert.equal(normalizeUserKey('s3://bkt/prod/postgres/a', 'bkt'), 'prod/postgres/a');
    assert.equal(toManifestKey('a.dump'), 'a.dump.manifest.json');
    assert.equal(toManifestKey('a.dump.manifest.json'), 'a.dump.manifest.json');
  });
});

describe('manifest', () => {
  it('round-trips and rejects broken ones with reasons', () => {
    const back = parseManifest(serializeManifest(sample));
    assert.ok(back.ok);
    assert.deepEqual(back.manifest, sample);
    const bad = parseManifest(JSON.stringify({ ...sample, artifacts: [{ ...sample.artifacts[0], sha256: 'xyz' }] }));
    assert.equal(bad.ok, false);
    assert.match(bad.ok ? '' : bad.problems.join(), /artifacts\.0\.sha256/);
    assert.equal(parseManifest('{').ok, false);
  });

  it('orders newest first by finish time, not by key', () => {
    const a = { key: 'z', manifest: { ...sample, finishedAt: '2026-01-01T00:00:00Z' } };
    const b = { key: 'a', manifest: { ...sample, finishedAt: '2026-02-01T00:00:00Z' } };
    assert.deepEqual(
      sortNewestFirst([a, b]).map((x) => x.key),
      ['a', 'z'],
    );
  });
});

describe('multipart part size', () => {
  it('fits 1 TiB in 10,000 parts when the size is unknown', () => {
    const p = choosePartSize(undefined);
    assert.ok(maxObjectSize(p) >= TiB, `${p / MiB} MiB parts`);
  });

  it('keeps parts small (flat memory) for estimated sizes, with headroom', () => {
    assert.equal(choosePartSize(1 * GiB), 8 * MiB);
    assert.equal(choosePartSize(4 * GiB), 8 * MiB);
    const big = 2 * TiB;
    assert.ok(maxObjectSize(choosePartSize(big)) >= 3 * big);
    assert.equal(choosePartSize(1, 5 * MiB), 5 * MiB);
  });
});

describe('upload sizing under a memory budget', () => {
  const cfg = { minPartSizeMiB: 8, memoryBudgetMiB: 192, queueSize: 2 };
  it('caps the part size at budget / (queueSize + 2), so a larger or unknown size never grows memory', () => {
    assert.equal(partCap(192 * MiB, 2), 48 * MiB);
    assert.equal(partCap(10 * MiB, 4), 5 * MiB); // never below S3's minimum part
    for (const estimate of [undefined, TiB, 10 * TiB])
      assert.equal(uploadSizing(cfg, estimate).partSize, 48 * MiB, String(estimate));
    assert.equal(uploadSizing(cfg, GiB).partSize, 8 * MiB);
  });
  it('says how much one object may carry at that part size; a configured segment size lowers it', () => {
    assert.equal(uploadSizing(cfg, undefined).maxPutBytes, 48 * MiB * 10_000);
    assert.equal(uploadSizing(cfg, GiB).maxPutBytes, 8 * MiB * 10_000);
    assert.equal(uploadSizing({ ...cfg, segmentMiB: 1 }, TiB).maxPutBytes, MiB);
    // A 1 TiB artifact at the capped part size: three segments (468.75 GiB each at most).
    assert.equal(Math.ceil(TiB / uploadSizing(cfg, TiB).maxPutBytes), 3);
  });
});

describe('SQL quoting', () => {
  it('quotes identifiers and literals', () => {
    assert.equal(quoteIdent('a"b'), '"a""b"');
    assert.equal(quoteLiteral("it's"), "'it''s'");
  });
});
