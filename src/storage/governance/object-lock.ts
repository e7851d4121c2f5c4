// Governance item "object-lock" (only with storage.immutability): Object Lock enabled on the bucket with the env's
// mode and retention as its default. Object Lock is set when a bucket is created (`bucket` creates it so); enabling it
// on an existing versioned bucket works on AWS and is refused by some servers, which is said plainly.

import {
  GetObjectLockConfigurationCommand,
  PutObjectLockConfigurationCommand,
  type ObjectLockRetentionMode,
} from '@aws-sdk/client-s3';
import { errCode, isMissing, type Item, type ItemInput } from './item.js';

/** The default retention wanted, or what differs from it (pure). */
export function lockDrift(
  got: {
    enabled?: string | undefined;
    mode?: string | undefined;
    days?: number | undefined;
    years?: number | undefined;
  },
  want: { mode: string; days: number },
): string | undefined {
  if (got.enabled !== 'Enabled') return 'Object Lock is not enabled on the bucket';
  const have = got.mode
    ? `${got.mode} ${got.days !== undefined ? `${got.days} days` : `${got.years ?? '?'} years`}`
    : 'none';
  return got.mode === want.mode && got.days === want.days && got.years === undefined
    ? undefined
    : `default retention is ${have}, wanted ${want.mode} ${want.days} days`;
}

export function objectLockItem({ client, cfg, Bucket }: ItemInput, days: number): Item {
  const mode = cfg.immutability?.mode ?? 'COMPLIANCE';
  return {
    name: 'object-lock',
    describe: `Object Lock enabled, default retention ${mode} ${days} days (every write also carries it explicitly)`,
    audit: async () => {
      try {
        const c = (await client.send(new GetObjectLockConfigurationCommand({ Bucket }))).ObjectLockConfiguration;
        const r = c?.Rule?.DefaultRetention;
        return lockDrift(
          { enabled: c?.ObjectLockEnabled, mode: r?.Mode, days: r?.Days, years: r?.Years },
          { mode, days },
        );
      } catch (err) {
        if (isMissing(err, 'ObjectLockConfigurationNotFoundError', 'ObjectLockConfigurationNotFound'))
          return 'Object Lock is not enabled on the bucket';
        throw err;
      }
    },
    apply: async () => {
      try {
        await client.send(
          new PutObjectLockConfigurationCommand({
            Bucket,
            ObjectLockConfiguration: {
              ObjectLockEnabled: 'Enabled',
              Rule: { DefaultRetention: { Mode: mode as ObjectLockRetentionMode, Days: days } },
            },
          }),
        );
      } catch (err) {
        const e = err as Error;
        e.message = `${e.message || errCode(err)}; this server does not enable Object Lock on a bucket created without it: point the env at a new bucket (storage init creates it with Object Lock) and keep the old one until its backups age out`;
        throw err;
      }
    },
  };
}
