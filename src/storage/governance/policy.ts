// Governance item "bucket-policy": deny non-TLS requests (HTTPS endpoints only) and puts with an SSE other than
// aws:kms; the bucket's other statements are kept; rolled back when the server then locks igbackup out.

import {
  DeleteBucketPolicyCommand,
  GetBucketPolicyCommand,
  PutBucketPolicyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { isMissing, type Item, type ItemInput } from './item.js';

const SID_TLS = 'IgbackupDenyInsecureTransport';
const SID_SSE = 'IgbackupDenyNonKmsPuts';

/** The policy statements igbackup owns (pure). The TLS one is left out for plain-HTTP endpoints. */
export function wantedStatements(bucket: string, kmsOnly: boolean, tls: boolean): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  if (tls) {
    out.push({
      Sid: SID_TLS,
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:*',
      Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
  }
  if (kmsOnly) {
    // IfExists: UploadPart carries no SSE header; the bucket default encryption covers puts without one.
    out.push({
      Sid: SID_SSE,
      Effect: 'Deny',
      Principal: '*',
      Action: 's3:PutObject',
      Resource: `arn:aws:s3:::${bucket}/*`,
      Condition: { StringNotEqualsIfExists: { 's3:x-amz-server-side-encryption': 'aws:kms' } },
    });
  }
  return out;
}

async function currentStatements(client: S3Client, Bucket: string): Promise<Record<string, unknown>[]> {
  try {
    const p = (await client.send(new GetBucketPolicyCommand({ Bucket }))).Policy;
    const parsed = p ? (JSON.parse(p) as { Statement?: Record<string, unknown>[] | Record<string, unknown> }) : {};
    const st = parsed.Statement ?? [];
    return Array.isArray(st) ? st : [st];
  } catch (err) {
    if (isMissing(err, 'NoSuchBucketPolicy')) return [];
    throw err;
  }
}

function putPolicy(Bucket: string, statements: Record<string, unknown>[]): PutBucketPolicyCommand {
  return new PutBucketPolicyCommand({
    Bucket,
    Policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
  });
}

export function policyItem({ client, cfg, Bucket }: ItemInput): Item {
  const tls = !cfg.endpoint || cfg.endpoint.startsWith('https://');
  let previousPolicy: Record<string, unknown>[] | undefined;
  return {
    name: 'bucket-policy',
    describe: `deny ${tls ? 'non-TLS requests and ' : ''}puts with an SSE other than aws:kms${tls ? '' : ' (the TLS statement is left out: the endpoint is plain HTTP and would be locked out)'}`,
    audit: async () => {
      const statements = await currentStatements(client, Bucket);
      const missing = wantedStatements(Bucket, true, tls).filter(
        (w) => !statements.some((s) => s.Sid === w.Sid && JSON.stringify(s) === JSON.stringify(w)),
      );
      return missing.length ? `missing or changed statements: ${missing.map((m) => m.Sid).join(', ')}` : undefined;
    },
    apply: async () => {
      previousPolicy = await currentStatements(client, Bucket);
      const others = previousPolicy.filter((s) => s.Sid !== SID_TLS && s.Sid !== SID_SSE);
      await client.send(putPolicy(Bucket, [...others, ...wantedStatements(Bucket, true, tls)]));
    },
    rollback: async () => {
      if (previousPolicy === undefined) return;
      if (previousPolicy.length === 0) await client.send(new DeleteBucketPolicyCommand({ Bucket }));
      else await client.send(putPolicy(Bucket, previousPolicy));
    },
  };
}
