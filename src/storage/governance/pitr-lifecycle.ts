// Governance item "pitr-lifecycle" (envs with postgres.pitr): the rule igbackup owns for the env's pgBackRest
// repository, beside the env's folder. No transition (pgBackRest must read its WAL archive at any time, so nothing
// there may go to Glacier); incomplete uploads aborted and noncurrent versions expired, as for the env's own rule.

import {
  GetBucketLifecycleConfigurationCommand,
  PutBucketLifecycleConfigurationCommand,
  type LifecycleRule,
} from '@aws-sdk/client-s3';
import type { S3StorageConfig } from '../../config/schema.js';
import { isMissing, type Item, type ItemInput } from './item.js';
import { ruleDrift } from './lifecycle.js';

/** The repository's rule (pure): its prefix is <prefix>/pgbackrest/<env>/ (engines/postgres/pitr.ts repoPath). */
export function wantedPitrRule(cfg: S3StorageConfig, env: string): LifecycleRule {
  const prefix = `${[cfg.prefix.replace(/^\/+|\/+$/g, ''), 'pgbackrest', env].filter(Boolean).join('/')}/`;
  return {
    ID: `igbackup-${env}-pgbackrest`,
    Status: 'Enabled',
    Filter: { Prefix: prefix },
    AbortIncompleteMultipartUpload: { DaysAfterInitiation: cfg.lifecycle.abortIncompleteUploadsAfterDays },
    NoncurrentVersionExpiration: { NoncurrentDays: cfg.lifecycle.noncurrentVersionExpirationDays },
  };
}

async function rules(input: ItemInput): Promise<LifecycleRule[]> {
  try {
    return (await input.client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: input.Bucket }))).Rules ?? [];
  } catch (err) {
    if (isMissing(err, 'NoSuchLifecycleConfiguration')) return [];
    throw err;
  }
}

export function pitrLifecycleItem(input: ItemInput): Item {
  const rule = wantedPitrRule(input.cfg, input.env);
  return {
    name: 'pitr-lifecycle',
    describe: `rule ${rule.ID}: ${rule.Filter?.Prefix} never archived (pgBackRest reads it at any time), abort incomplete uploads after ${input.cfg.lifecycle.abortIncompleteUploadsAfterDays} days, expire noncurrent versions after ${input.cfg.lifecycle.noncurrentVersionExpirationDays} days`,
    audit: async () => {
      const found = (await rules(input)).find((r) => r.ID === rule.ID);
      const drift = ruleDrift(found, rule);
      return drift ?? (found?.Transitions?.length ? 'a transition would archive the WAL pgBackRest needs' : undefined);
    },
    apply: async () => {
      const others = (await rules(input)).filter((r) => r.ID !== rule.ID);
      await input.client.send(
        new PutBucketLifecycleConfigurationCommand({
          Bucket: input.Bucket,
          LifecycleConfiguration: { Rules: [...others, rule] },
        }),
      );
    },
  };
}
