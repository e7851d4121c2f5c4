// The catalog benchmark's baseline: one ListObjectsV2 walk over the same prefix (node startup included, like igbackup).

import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

const [bucket, prefix] = process.argv.slice(2);
const s3 = new S3Client({ region: 'us-east-1', endpoint: process.env.IGBACKUP_TEST_S3_ENDPOINT, forcePathStyle: true });
let n = 0;
let token: string | undefined;
do {
  const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
  n += r.KeyCount ?? 0;
  token = r.IsTruncated ? r.NextContinuationToken : undefined;
} while (token);
console.log(n);
