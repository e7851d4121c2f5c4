// Governance item "lifecycle": the rule igbackup owns for an env's prefix (archive transition, abort of incomplete
// uploads, expiry of noncurrent versions), written beside the bucket's other rules.

import {
  GetBucketLifecycleConfigurationCommand,
  PutBucketLifecycleConfigurationCommand,
  type LifecycleRule,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { S3StorageConfig } from '../../config/schema.js';
import { isMissing, type Item, type ItemInput } from './item.js';

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
  if (t?.Days !== wt?.Days || t?.StorageClass !== wt?.StorageClass)
    diffs.push(
      `transition ${t?.StorageClass ?? 'none'} after ${t?.Days ?? '-'} days (want ${wt?.StorageClass} after ${wt?.Days})`,
    );
  if (
    found.AbortIncompleteMultipartUpload?.DaysAfterInitiation !==
    want.AbortIncompleteMultipartUpload?.DaysAfterInitiation
  )
    diffs.push('abort-incomplete-uploads days differ');
  if (found.NoncurrentVersionExpiration?.NoncurrentDays !== want.NoncurrentVersionExpiration?.NoncurrentDays)
    diffs.push('noncurrent-version expiry differs');
  return diffs.length ? diffs.join('; ') : undefined;
}

async function currentRules(client: S3Client, Bucket: string): Promise<LifecycleRule[]> {
  try {
    return (await client.send(new GetBucketLifecycleConfigurationCommand({ Bucket }))).Rules ?? [];
  } catch (err) {
    if (isMissing(err, 'NoSuchLifecycleConfiguration')) return [];
    throw err;
  }
}

export function lifecycleItem({ client, cfg, env, Bucket }: ItemInput): Item {
  const rule = wantedRule(cfg, env);
  const l = cfg.lifecycle;
  return {
    name: 'lifecycle',
    describe: `rule ${rule.ID}: ${rule.Filter?.Prefix} to ${l.storageClass} after ${l.transitionAfterDays} days, abort incomplete uploads after ${l.abortIncompleteUploadsAfterDays} days, expire noncurrent versions after ${l.noncurrentVersionExpirationDays} days`,
    audit: async () =>
      ruleDrift(
        (await currentRules(client, Bucket)).find((r) => r.ID === rule.ID),
        rule,
      ),
    apply: async () => {
      const others = (await currentRules(client, Bucket)).filter((r) => r.ID !== rule.ID);
      await client.send(
        new PutBucketLifecycleConfigurationCommand({ Bucket, LifecycleConfiguration: { Rules: [...others, rule] } }),
      );
    },
  };
}
