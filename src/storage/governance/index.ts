// Bucket governance for an env: versioning, default SSE-KMS, lifecycle, public access block, TLS/SSE policy — one
// module per item. Each item can be audited (ok / drift / unsupported) and applied idempotently; servers lacking an
// API say so.

import type { S3Client } from '@aws-sdk/client-s3';
import type { S3StorageConfig } from '../../config/schema.js';
import { bucketItem, versioningItem } from './bucket.js';
import { encryptionItem } from './encryption.js';
import type { Item } from './item.js';
import { lifecycleItem } from './lifecycle.js';
import { objectLockItem } from './object-lock.js';
import { pitrLifecycleItem } from './pitr-lifecycle.js';
import { policyItem } from './policy.js';
import { publicAccessItem } from './public-access.js';

export { applyGovernance, auditGovernance, type GovernanceItem, type ItemStatus } from './item.js';
export { ruleDrift, ruleId, wantedRule } from './lifecycle.js';
export { wantedPitrRule } from './pitr-lifecycle.js';
export { wantedStatements } from './policy.js';
export { lockDrift } from './object-lock.js';

/** The items in the order they are audited and applied (the bucket first: without it nothing else can be read). */
export function governanceItems(
  client: S3Client,
  cfg: S3StorageConfig,
  env: string,
  opts: { pitrRepository?: boolean } = {},
): Item[] {
  const input = { client, cfg, env, Bucket: cfg.bucket };
  const lifecycles = opts.pitrRepository ? [lifecycleItem, pitrLifecycleItem] : [lifecycleItem];
  const lock = cfg.immutability
    ? [(i: typeof input) => objectLockItem(i, cfg.immutability?.days ?? cfg.lifecycle.transitionAfterDays)]
    : [];
  return [bucketItem, versioningItem, ...lock, encryptionItem, ...lifecycles, publicAccessItem, policyItem].map(
    (make) => make(input),
  );
}
