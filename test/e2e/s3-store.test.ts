// Runs the shared ObjectStore suite against the real RADOS Gateway with SSE-KMS, plus S3-specific guarantees.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { it } from 'node:test';
import { S3Store } from '../../src/storage/s3.js';
import { MiB } from '../../src/domain/parts.js';
import { ConfigError, StorageError } from '../../src/domain/errors.js';
import { objectStoreSuite } from '../storage/suite.js';
import { ListObjectVersionsCommand, PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import type { ObjectStore } from '../../src/storage/store.js';
import { GlacierProxy } from '../storage/glacier-proxy.js';
import { makeBucket, pendingUploads, s3, s3Client } from '../helpers/servers.js';

function storeFor(bucket: string, extra: Partial<ConstructorParameters<typeof S3Store>[0]> = {}): S3Store {
  return new S3Store({
    type: 's3',
    bucket,
    prefix: '',
    region: 'us-east-1',
    endpoint: s3.endpoint,
    kmsKeyId: s3.kmsKeyId,
    checksums: 'auto',
    queueSize: 2,
    minPartSizeMiB: 5,
    memoryBudgetMiB: 192,
    lifecycle: {
      transitionAfterDays: 30,
      storageClass: 'GLACIER',
      abortIncompleteUploadsAfterDays: 7,
      noncurrentVersionExpirationDays: 90,
    },
    ...extra,
  });
}

/** Versions and delete markers at `key`, read with the test's own client (the store's description is s3://BUCKET). */
async function versionsAt(store: ObjectStore, key: string): Promise<number> {
  const r = await s3Client().send(
    new ListObjectVersionsCommand({ Bucket: store.description.replace(/^s3:\/\//, ''), Prefix: key }),
  );
  return [...(r.Versions ?? []), ...(r.DeleteMarkers ?? [])].filter((v) => v.Key === key).length;
}

async function versionedBucket(): Promise<string> {
  const bucket = await makeBucket();
  await s3Client().send(
    new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
  );
  return bucket;
}

const s3Promises = {
  multipartBytes: 6 * 1024 * 1024,
  get encryption() {
    return { sse: 'aws:kms', kmsKeyId: s3.kmsKeyId };
  },
  storageClass: 'STANDARD',
  etags: true,
  // radosgw 16 does not implement RestoreObject (it never archives); AWS answers 403 InvalidObjectState here.
  restoreRefusal: /request a restore of s3:\/\/igb-test-\w+\/g\/not-archived\.txt failed: NotImplemented \(HTTP 501\)/,
  versionsAt,
  // queueSize 2, memoryBudgetMiB 192: parts capped at 48 MiB, so an unknown size (sized for 1 TiB: 105 MiB parts)
  // gets 48 MiB x 10,000; a 1 GiB estimate needs only the 5 MiB minimum part.
  maxPutBytes: { unknown: 48 * MiB * 10_000, oneGiB: 5 * MiB * 10_000 },
};
// Versioned, as igbackup storage init sets a bucket up; and unversioned, where purge is delete.
objectStoreSuite('s3 (radosgw, SSE-KMS, versioned bucket)', async () => storeFor(await versionedBucket()), {
  ...s3Promises,
  versioned: true,
});
objectStoreSuite('s3 (radosgw, SSE-KMS, unversioned bucket)', async () => storeFor(await makeBucket()), {
  ...s3Promises,
  versioned: false,
});

// Every method again over HTTPS, the gateway's certificate signed by a private CA given as storage.caFile.
objectStoreSuite(
  's3 over HTTPS (radosgw, private CA in caFile)',
  async () => storeFor(await versionedBucket(), { endpoint: s3.tlsEndpoint, caFile: s3.caFile }),
  { ...s3Promises, versioned: true },
);

it('s3 over HTTPS: a private CA that is not given is refused; an unreadable or non-PEM caFile is a config error', async () => {
  const bucket = await makeBucket();
  await assert.rejects(storeFor(bucket, { endpoint: s3.tlsEndpoint }).list(''), /self[- ]signed|certificate/i);
  assert.throws(
    () => storeFor(bucket, { endpoint: s3.tlsEndpoint, caFile: '/nonexistent/ca.pem' }),
    (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /storage\.caFile: cannot read \/nonexistent\/ca\.pem/);
      return true;
    },
  );
  assert.throws(
    () => storeFor(bucket, { endpoint: s3.tlsEndpoint, caFile: new URL(import.meta.url).pathname }),
    /holds no PEM certificate/,
  );
});

it('s3: objects are stored with aws:kms and the configured key; failed multipart uploads are aborted', async () => {
  const bucket = await makeBucket();
  const store = storeFor(bucket);
  const r = await store.put('enc/x.bin', Readable.from([randomBytes(12 * 1024 * 1024)]));
  assert.equal(r.sse, 'aws:kms');
  const h = await store.head('enc/x.bin');
  assert.equal(h?.sse, 'aws:kms');
  assert.equal(h?.kmsKeyId, s3.kmsKeyId);
  let n = 0;
  const failing = new Readable({
    read() {
      if (++n > 3) this.destroy(new Error('boom'));
      else this.push(randomBytes(6 * 1024 * 1024));
    },
  });
  await assert.rejects(store.put('enc/failed.bin', failing));
  assert.deepEqual(await pendingUploads(bucket), []);
});

it('s3: an unknown KMS key fails the upload with a message naming the key', async () => {
  const bucket = await makeBucket();
  const store = storeFor(bucket, { kmsKeyId: 'no-such-key' });
  await assert.rejects(store.put('k/x.bin', Readable.from([randomBytes(1000)])), (err: Error) => {
    assert.ok(err instanceof StorageError, String(err));
    assert.match(err.message, /no-such-key/);
    return true;
  });
  assert.equal(await storeFor(bucket).head('k/x.bin'), undefined);
  assert.deepEqual(await pendingUploads(bucket), []);
});

it('s3: an unreachable endpoint fails with a message naming it', async () => {
  const store = storeFor('igb-unreachable', { endpoint: 'http://127.0.0.1:9' });
  await assert.rejects(
    store.put('x', Readable.from([Buffer.from('x')])),
    /cannot reach the S3 endpoint http:\/\/127\.0\.0\.1:9/,
  );
});

it('s3: radosgw 16 never archives: a fresh object is STANDARD with no restore', async () => {
  const bucket = await makeBucket();
  const store = storeFor(bucket);
  await store.putBytes('g/x', 'x');
  const h = await store.head('g/x');
  assert.equal(h?.storageClass, 'STANDARD');
  assert.equal(h?.restore, undefined);
});

it("s3: requestRestore and head against S3's archive answers (GLACIER stand-in in front of radosgw)", async () => {
  const bucket = await makeBucket();
  const proxy = await GlacierProxy.start(s3.endpoint);
  try {
    const store = storeFor(bucket, { endpoint: proxy.endpoint });
    await store.putBytes('g/x', 'archived bytes');
    proxy.archive(bucket, 'g/x', 'DEEP_ARCHIVE');
    assert.deepEqual((await store.head('g/x'))?.storageClass, 'DEEP_ARCHIVE');
    assert.equal((await store.head('g/x'))?.restore, undefined);
    await assert.rejects(
      store.getBytes('g/x'),
      (err: Error) => err instanceof StorageError && /InvalidObjectState/.test(err.message),
    );
    assert.equal(await store.requestRestore('g/x', 3, 'Bulk'), 'requested');
    assert.deepEqual((await store.head('g/x'))?.restore, { ongoing: true });
    assert.equal(await store.requestRestore('g/x', 3, 'Bulk'), 'already', '409 RestoreAlreadyInProgress');
    proxy.finishRestore(bucket, 'g/x');
    const restored = await store.head('g/x');
    assert.equal(restored?.restore?.ongoing, false);
    assert.match(restored?.restore?.expiry ?? '', /GMT$/);
    assert.equal((await store.getBytes('g/x')).toString(), 'archived bytes');
    assert.deepEqual(proxy.restoreRequests, [
      { key: `${bucket}/g/x`, days: 3, tier: 'Bulk' },
      { key: `${bucket}/g/x`, days: 3, tier: 'Bulk' },
    ]);
  } finally {
    await proxy.close();
  }
});
