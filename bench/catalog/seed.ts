// Seeds a bucket with N synthetic but proven-complete PostgreSQL backups (tiny artifact + manifest each) for the
// catalog benchmark; idempotent per (bucket, env): an env that already holds N manifests is left as it is.

import { createHash, randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';

const [bucket, env, countText] = process.argv.slice(2);
const count = Number(countText);
if (!bucket || !env || !Number.isInteger(count) || count < 1) throw new Error('usage: seed.ts BUCKET ENV COUNT');
const endpoint = process.env.IGBACKUP_TEST_S3_ENDPOINT;
const kmsKeyId = process.env.IGBACKUP_TEST_KMS_KEY_ID;
if (!endpoint || !kmsKeyId)
  throw new Error(
    'IGBACKUP_TEST_S3_ENDPOINT / IGBACKUP_TEST_KMS_KEY_ID not set (eval "$(bash scripts/services/radosgw.sh env)")',
  );
const s3 = new S3Client({
  region: 'us-east-1',
  endpoint,
  forcePathStyle: true,
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
const sse = { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: kmsKeyId };

async function existing(): Promise<number> {
  let n = 0;
  let token: string | undefined;
  do {
    const r = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: `${env}/postgres/`, ContinuationToken: token }),
    );
    n += (r.Contents ?? []).filter((o) => o.Key?.endsWith('.manifest.json')).length;
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return n;
}

async function one(i: number): Promise<void> {
  const started = new Date(Date.UTC(2026, 0, 1) + i * 60_000);
  const ts = started.toISOString().replace(/[-:]/g, '');
  const database = `db${i % 10}`;
  const key = `${env}/postgres/${database}_${ts}.dump.zst`;
  const body = randomBytes(64);
  const sha = createHash('sha256').update(body).digest('hex');
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...sse }));
  const manifest = {
    schema: 'igbackup.manifest/v1',
    igbackupVersion: 'bench',
    engine: 'postgres',
    env,
    target: { database, transport: 'local', host: '127.0.0.1:5432' },
    format: 'pg_dump-custom',
    compression: 'zstd',
    artifacts: [{ role: 'dump', key, bytes: body.length, sha256: sha, rawBytes: body.length, rawSha256: sha }],
    tools: { pg_dump: '15.18', zstd: '1.5.4' },
    startedAt: started.toISOString(),
    finishedAt: new Date(started.getTime() + 1500).toISOString(),
    durationMs: 1500,
    sourceHost: 'bench',
    createdBy: 'bench@bench',
    encryption: { sse: 'aws:kms', kmsKeyId },
  };
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: `${key}.manifest.json`,
      Body: JSON.stringify(manifest, null, 2),
      ...sse,
    }),
  );
}

await s3
  .send(new HeadBucketCommand({ Bucket: bucket }))
  .catch(() => s3.send(new CreateBucketCommand({ Bucket: bucket })));
const have = await existing();
if (have === count) process.exit(0);
if (have !== 0) throw new Error(`${bucket}/${env} holds ${have} manifests, not ${count}: use another env name`);
let next = 0;
await Promise.all(
  Array.from({ length: 48 }, async () => {
    while (next < count) await one(next++);
  }),
);
