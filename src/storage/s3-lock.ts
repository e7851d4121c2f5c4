// S3 Object Lock on igbackup's writes (storage.immutability): the headers each write carries, and a write the bucket
// refused because of them, named.

import type { S3StorageConfig } from '../config/schema.js';
import { StorageError } from '../domain/errors.js';
import type { PutOptions } from './store.js';

/** The days an artifact stays locked: storage.immutability.days, else the lifecycle's transition age. */
export function retentionDays(cfg: S3StorageConfig): number {
  return cfg.immutability?.days ?? cfg.lifecycle.transitionAfterDays;
}

/**
 * The Object Lock headers of a write when the env has immutability: its mode and a retain-until date counted from now
 * (explicit, so a bucket default cannot shorten it); `control` objects (leases, probes) are kept one day.
 */
export function lockParams(cfg: S3StorageConfig, retention: PutOptions['retention']) {
  const lock = cfg.immutability;
  if (!lock) return {};
  const days = retention === 'control' ? 1 : retentionDays(cfg);
  return { ObjectLockMode: lock.mode, ObjectLockRetainUntilDate: new Date(Date.now() + days * 86_400_000) };
}

/**
 * A write refused because of its Object Lock headers (HTTP 400 InvalidRequest: the bucket has no Object Lock), named
 * as such; undefined for any other failure.
 */
export function lockRefused(cfg: S3StorageConfig, err: unknown, key: string): Error | undefined {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  if (!cfg.immutability || e.$metadata?.httpStatusCode !== 400) return undefined;
  if (!/InvalidRequest|InvalidArgument/.test(`${e.name ?? ''} ${e.Code ?? ''}`)) return undefined;
  return new StorageError(
    `write s3://${cfg.bucket}/${key} was refused with its Object Lock retention (${e.name ?? e.Code}, HTTP 400): the bucket has no Object Lock enabled, so storage.immutability cannot be kept`,
    {
      cause: err,
      hint: 'run igbackup storage init --env <env> (it creates the bucket with Object Lock; a bucket created without it may have to be replaced by a new one)',
    },
  );
}
