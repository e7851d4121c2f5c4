/* global process, console, performance */
// One upload through igbackup's backup pipeline (dist/), for bench/memory/run.sh: `head -c BYTES /dev/urandom` as the
// producer (incompressible, so the stored size is the size asked for), no size estimate (the worst case: the part size
// is chosen for 1 TiB), into the test S3 with SSE-KMS. Prints one JSON line; the caller measures peak RSS.
// Usage: node upload.mjs BYTES BUDGET_MIB BUCKET [SEGMENT_MIB]

import { streamToStore } from '../../dist/src/pipeline/backup-stream.js';
import { compressStage } from '../../dist/src/pipeline/compress.js';
import { S3Store } from '../../dist/src/storage/s3.js';
import { LocalTransport } from '../../dist/src/transports/local.js';
import { uploadSizing } from '../../dist/src/domain/parts.js';

const [bytes, budget, bucket, segment] = process.argv.slice(2);
const cfg = {
  type: 's3',
  bucket,
  prefix: '',
  region: 'us-east-1',
  endpoint: process.env.IGBACKUP_TEST_S3_ENDPOINT,
  kmsKeyId: process.env.IGBACKUP_TEST_KMS_KEY_ID,
  checksums: 'auto',
  queueSize: 2,
  minPartSizeMiB: 8,
  memoryBudgetMiB: Number(budget),
  ...(segment ? { segmentMiB: Number(segment) } : {}),
  lifecycle: {
    transitionAfterDays: 30,
    storageClass: 'GLACIER',
    abortIncompleteUploadsAfterDays: 7,
    noncurrentVersionExpirationDays: 90,
  },
};
const local = new LocalTransport();
const t0 = performance.now();
const r = await streamToStore({
  producer: local.start({ argv: ['head', '-c', bytes, '/dev/urandom'] }),
  compression: compressStage('none', local, { level: 1, threads: 0 }),
  store: new S3Store(cfg),
  key: 'bench/artifact',
  proof: 'identity',
});
console.log(
  JSON.stringify({
    bytes: r.stored.bytes,
    segments: r.put.segments?.length ?? 1,
    partMiB: uploadSizing(cfg, undefined).partSize / 1024 / 1024,
    seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
  }),
);
