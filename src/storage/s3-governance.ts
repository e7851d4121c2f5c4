// Bucket governance for an env: versioning, default SSE-KMS, lifecycle, public access block, TLS/SSE policy.
// Each item can be audited (ok / drift / unsupported) and applied idempotently; servers lacking an API say so.

import {
  CreateBucketCommand,
  DeleteBucketPolicyCommand,
  DeletePublicAccessBlockCommand,
  GetBucketEncryptionCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketPolicyCommand,
  GetBucketVersioningCommand,
  GetPublicAccessBlockCommand,
  HeadBucketCommand,
  PutBucketEncryptionCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  PutPublicAccessBlockCommand,
  type BucketLocationConstraint,
  type LifecycleRule,
  type PublicAccessBlockConfiguration,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { S3StorageConfig } from '../config/schema.js';
import { kmsKeyMatches } from './s3.js';

export type ItemStatus = 'ok' | 'drift' | 'unsupported' | 'applied' | 'planned' | 'failed' | 'skipped';

export interface GovernanceItem {
  item: string;
  status: ItemStatus;
  detail: string;
}

interface Item {
  name: string;
  /** Returns undefined when in the wanted state, else what differs. */
  audit(): Promise<string | undefined>;
  apply(): Promise<void>;
  /** Undoes apply() (restores what was there before); only some items can. */
  rollback?: () => Promise<void>;
  describe: string;
}

const NOT_SUPPORTED = /NotImplemented|InvalidArgument|MethodNotAllowed|NotSupported|UnsupportedOperation|XNotImplemented/;

function errCode(err: unknown): string {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return `${e.name ?? e.Code ?? 'Error'}${e.$metadata?.httpStatusCode ? ` (HTTP ${e.$metadata.httpStatusCode})` : ''}`;
}

function isMissing(err: unknown, ...names: string[]): boolean {
  const e = err as { name?: string; Code?: string };
  return names.includes(e.name ?? '') || names.includes(e.Code ?? '');
}

export function ruleId(env: string): string {
  return `igbackup-${env}`;
}

/** The lifecycle rule igbackup owns for an env's prefix (pure). */
export function wantedRule(cfg: S3StorageConfig, env: string): LifecycleRule {
  const prefix = `${[cfg.prefix.replace(/^\/+|\/+$/g, ''), env].filter(Boolean).join('/')}/`;
  return {
    ID: ruleId(env),
    Status: 'Enabled',
    Filter: { Prefix: prefix },
    Transitions: [{ Days: cfg.lifecycle.transitionAfterDays, StorageClass: cfg.lifecycle.storageClass }],
    AbortIncompleteMultipartUpload: { DaysAfterInitiation: cfg.lifecycle.abortIncompleteUploadsAfterDays },
    NoncurrentVersionExpiration: { NoncurrentDays: cfg.lifecycle.noncurrentVersionExpirationDays },
  };
}

/** Differences between the rule found and the one wanted, as text (pure). */
export function ruleDrift(found: LifecycleRule | undefined, want: LifecycleRule): string | undefined {
  if (!found) return `no lifecycle rule "${want.ID}"`;
  const diffs: string[] = [];
  const prefix = found.Filter && 'Prefix' in found.Filter ? found.Filter.Prefix : (found as { Prefix?: string }).Prefix;
  if (found.Status !== 'Enabled') diffs.push(`status ${found.Status}`);
  if (prefix !== want.Filter?.Prefix) diffs.push(`prefix "${prefix ?? ''}" (want "${want.Filter?.Prefix}")`);
  const t = found.Transitions?.[0];
  const wt = want.Transitions?.[0];
  if (t?.Days !== wt?.Days || t?.StorageClass !== wt?.StorageClass) diffs.push(`transition ${t?.StorageClass ?? 'none'} after ${t?.Days ?? '-'} days (want ${wt?.StorageClass} after ${wt?.Days})`);
  if (found.AbortIncompleteMultipartUpload?.DaysAfterInitiation !== want.AbortIncompleteMultipartUpload?.DaysAfterInitiation) diffs.push('abort-incomplete-uploads days differ');
  if (found.NoncurrentVersionExpiration?.NoncurrentDays !== want.NoncurrentVersionExpiration?.NoncurrentDays) diffs.push('noncurrent-version expiry differs');
  return diffs.length ? diffs.join('; ') : undefined;
}

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

export function governanceItems(client: S3Client, cfg: S3StorageConfig, env: string): Item[] {
  const Bucket = cfg.bucket;
  let previousPolicy: Record<string, unknown>[] | undefined;
  let previousBlock: PublicAccessBlockConfiguration | null | undefined;
  const tls = !cfg.endpoint || cfg.endpoint.startsWith('https://');
  const rule = wantedRule(cfg, env);
  return [
    {
      name: 'bucket',
      describe: `bucket ${Bucket} exists (region ${cfg.region})`,
      audit: async () => {
        try {
          await client.send(new HeadBucketCommand({ Bucket }));
          return undefined;
        } catch (err) {
          if (isMissing(err, 'NotFound', 'NoSuchBucket')) return 'bucket does not exist';
          throw err;
        }
      },
      apply: async () => {
        await client.send(
          new CreateBucketCommand({
            Bucket,
            ...(cfg.region !== 'us-east-1' ? { CreateBucketConfiguration: { LocationConstraint: cfg.region as BucketLocationConstraint } } : {}),
          }),
        );
      },
    },
    {
      name: 'versioning',
      describe: 'versioning enabled',
      audit: async () => {
        const v = await client.send(new GetBucketVersioningCommand({ Bucket }));
        return v.Status === 'Enabled' ? undefined : `versioning is ${v.Status ?? 'off'}`;
      },
      apply: async () => {
        await client.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
      },
    },
    {
      name: 'default-encryption',
      describe: `default encryption SSE-KMS with ${cfg.kmsKeyId}, bucket key on`,
      audit: async () => {
        try {
          const e = await client.send(new GetBucketEncryptionCommand({ Bucket }));
          const r = e.ServerSideEncryptionConfiguration?.Rules?.[0];
          const d = r?.ApplyServerSideEncryptionByDefault;
          if (d?.SSEAlgorithm !== 'aws:kms') return `default encryption is ${d?.SSEAlgorithm ?? 'none'}`;
          if (!kmsKeyMatches(d.KMSMasterKeyID, cfg.kmsKeyId)) return `default KMS key is ${d.KMSMasterKeyID ?? 'the AWS managed key'}`;
          if (!r?.BucketKeyEnabled) return 'bucket key is off';
          return undefined;
        } catch (err) {
          if (isMissing(err, 'ServerSideEncryptionConfigurationNotFoundError')) return 'no default encryption';
          throw err;
        }
      },
      apply: async () => {
        await client.send(
          new PutBucketEncryptionCommand({
            Bucket,
            ServerSideEncryptionConfiguration: {
              Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: cfg.kmsKeyId }, BucketKeyEnabled: true }],
            },
          }),
        );
      },
    },
    {
      name: 'lifecycle',
      describe: `rule ${rule.ID}: ${rule.Filter?.Prefix} to ${cfg.lifecycle.storageClass} after ${cfg.lifecycle.transitionAfterDays} days, abort incomplete uploads after ${cfg.lifecycle.abortIncompleteUploadsAfterDays} days, expire noncurrent versions after ${cfg.lifecycle.noncurrentVersionExpirationDays} days`,
      audit: async () => ruleDrift((await currentRules(client, Bucket)).find((r) => r.ID === rule.ID), rule),
      apply: async () => {
        const others = (await currentRules(client, Bucket)).filter((r) => r.ID !== rule.ID);
        await client.send(new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules: [...others, rule] } }));
      },
    },
    {
      name: 'public-access-block',
      describe: 'all public access blocked',
      audit: async () => {
        try {
          const p = (await client.send(new GetPublicAccessBlockCommand({ Bucket }))).PublicAccessBlockConfiguration;
          const on = p?.BlockPublicAcls && p.IgnorePublicAcls && p.BlockPublicPolicy && p.RestrictPublicBuckets;
          return on ? undefined : 'public access is not fully blocked';
        } catch (err) {
          if (isMissing(err, 'NoSuchPublicAccessBlockConfiguration')) return 'no public access block';
          throw err;
        }
      },
      apply: async () => {
        try {
          previousBlock = (await client.send(new GetPublicAccessBlockCommand({ Bucket }))).PublicAccessBlockConfiguration ?? null;
        } catch {
          previousBlock = null;
        }
        await client.send(
          new PutPublicAccessBlockCommand({
            Bucket,
            PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
          }),
        );
      },
      rollback: async () => {
        if (previousBlock === undefined) return;
        if (previousBlock === null) await client.send(new DeletePublicAccessBlockCommand({ Bucket }));
        else await client.send(new PutPublicAccessBlockCommand({ Bucket, PublicAccessBlockConfiguration: previousBlock }));
      },
    },
    {
      name: 'bucket-policy',
      describe: `deny ${tls ? 'non-TLS requests and ' : ''}puts with an SSE other than aws:kms${tls ? '' : ' (the TLS statement is left out: the endpoint is plain HTTP and would be locked out)'}`,
      audit: async () => {
        const statements = await currentStatements(client, Bucket);
        const missing = wantedStatements(Bucket, true, tls).filter((w) => !statements.some((s) => s.Sid === w.Sid && JSON.stringify(s) === JSON.stringify(w)));
        return missing.length ? `missing or changed statements: ${missing.map((m) => m.Sid).join(', ')}` : undefined;
      },
      apply: async () => {
        const wanted = wantedStatements(Bucket, true, tls);
        previousPolicy = await currentStatements(client, Bucket);
        const others = previousPolicy.filter((s) => s.Sid !== SID_TLS && s.Sid !== SID_SSE);
        await client.send(new PutBucketPolicyCommand({ Bucket, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [...others, ...wanted] }) }));
      },
      rollback: async () => {
        if (previousPolicy === undefined) return;
        if (previousPolicy.length === 0) await client.send(new DeleteBucketPolicyCommand({ Bucket }));
        else await client.send(new PutBucketPolicyCommand({ Bucket, Policy: JSON.stringify({ Version: '2012-10-17', Statement: previousPolicy }) }));
      },
    },
  ];
}

async function currentRules(client: S3Client, Bucket: string): Promise<LifecycleRule[]> {
  try {
    return (await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket }))).Rules ?? [];
  } catch (err) {
    if (isMissing(err, 'NoSuchLifecycleConfiguration')) return [];
    throw err;
  }
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

/** Audits every item; "unsupported" when the server lacks the API. */
export async function auditGovernance(items: Item[]): Promise<GovernanceItem[]> {
  const out: GovernanceItem[] = [];
  for (const it of items) {
    try {
      const drift = await it.audit();
      out.push({ item: it.name, status: drift ? 'drift' : 'ok', detail: drift ?? it.describe });
    } catch (err) {
      const code = errCode(err);
      out.push(NOT_SUPPORTED.test(code) ? { item: it.name, status: 'unsupported', detail: `the server does not support this API (${code})` } : { item: it.name, status: 'failed', detail: `${code}: ${(err as Error).message}` });
      if (it.name === 'bucket') break;
    }
  }
  return out;
}

/** Applies what drifts (or only plans it); idempotent. */
export async function applyGovernance(items: Item[], dryRun: boolean, confirm?: (item: string) => Promise<string | undefined>): Promise<GovernanceItem[]> {
  const out: GovernanceItem[] = [];
  let noBucketYet = false;
  for (const it of items) {
    let drift: string | undefined;
    try {
      drift = noBucketYet ? 'after the bucket is created' : await it.audit();
    } catch (err) {
      drift = `cannot read the current setting (${errCode(err)})`;
    }
    if (it.name === 'bucket' && drift && dryRun) noBucketYet = true;
    if (!drift) {
      out.push({ item: it.name, status: 'ok', detail: it.describe });
      continue;
    }
    if (dryRun) {
      out.push({ item: it.name, status: 'planned', detail: `${drift} -> ${it.describe}` });
      continue;
    }
    try {
      await it.apply();
      // Some servers accept a setting that then locks igbackup out: prove it still works, else undo.
      const broken = confirm ? await confirm(it.name) : undefined;
      if (broken && it.rollback) {
        await it.rollback();
        out.push({ item: it.name, status: 'unsupported', detail: `applied, but then ${broken}; rolled back` });
        continue;
      }
      out.push({ item: it.name, status: 'applied', detail: it.describe });
    } catch (err) {
      const code = errCode(err);
      out.push(NOT_SUPPORTED.test(code) ? { item: it.name, status: 'unsupported', detail: `the server does not support this API (${code}); continuing` } : { item: it.name, status: 'failed', detail: `${code}: ${(err as Error).message}` });
      if (it.name === 'bucket') break;
    }
  }
  return out;
}
