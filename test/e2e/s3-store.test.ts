// Runs the shared ObjectStore suite against the real RADOS Gateway with SSE-KMS, plus S3-specific guarantees.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { it } from 'node:test';
import { S3Store } from '../../src/storage/s3.js';
import { StorageError } from '../../src/domain/errors.js';
import { objectStoreSuite } from '../storage/suite.js';
import { makeBucket, pendingUploads, s3 } from '../helpers/servers.js';

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
    lifecycle: { transitionAfterDays: 30, storageClass: 'GLACIER', abortIncompleteUploadsAfterDays: 7, noncurrentVersionExpirationDays: 90 },
    ...extra,
  });
}

objectStoreSuite('s3 (radosgw, SSE-KMS)', async () => storeFor(await makeBucket()), { multipartBytes: 6 * 1024 * 1024 });

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
  await assert.rejects(store.put('x', Readable.from([Buffer.from('x')])), /cannot reach the S3 endpoint http:\/\/127\.0\.0\.1:9/);
});

it('s3: what radosgw 16 answers for archive classes (it never transitions): STANDARD on HEAD, RestoreObject not implemented', async () => {
  const bucket = await makeBucket();
  const store = storeFor(bucket);
  await store.putBytes('g/x', 'x');
  const h = await store.head('g/x');
  assert.equal(h?.storageClass, 'STANDARD');
  assert.equal(h?.restore, undefined);
  await assert.rejects(store.requestRestore('g/x', 1, 'Standard'), (err: Error) => err instanceof StorageError && /NotImplemented|HTTP 501/.test(err.message));
});
