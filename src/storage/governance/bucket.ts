// Governance items "bucket" (it exists, in the configured region) and "versioning" (enabled).

import {
  CreateBucketCommand,
  GetBucketVersioningCommand,
  HeadBucketCommand,
  PutBucketVersioningCommand,
  type BucketLocationConstraint,
} from '@aws-sdk/client-s3';
import { isMissing, type Item, type ItemInput } from './item.js';

export function bucketItem({ client, cfg, Bucket }: ItemInput): Item {
  return {
    name: 'bucket',
    describe: `bucket ${Bucket} exists (region ${cfg.region})${cfg.immutability ? '; a new one is created with Object Lock' : ''}`,
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
          // Object Lock can be enabled only when a bucket is created (on many servers): with immutability, it is.
          ...(cfg.immutability ? { ObjectLockEnabledForBucket: true } : {}),
          ...(cfg.region !== 'us-east-1'
            ? { CreateBucketConfiguration: { LocationConstraint: cfg.region as BucketLocationConstraint } }
            : {}),
        }),
      );
    },
  };
}

export function versioningItem({ client, Bucket }: ItemInput): Item {
  return {
    name: 'versioning',
    describe: 'versioning enabled',
    audit: async () => {
      const v = await client.send(new GetBucketVersioningCommand({ Bucket }));
      return v.Status === 'Enabled' ? undefined : `versioning is ${v.Status ?? 'off'}`;
    },
    apply: async () => {
      await client.send(new PutBucketVersioningCommand({ Bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    },
  };
}
