// The S3 client's configuration (bounded waits, retries, checksums) and pure readers of S3 response headers.

import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { S3StorageConfig } from '../config/schema.js';

export const S3_CONNECT_TIMEOUT_SEC = 10;
export const S3_IDLE_TIMEOUT_SEC = 60;

export function s3ClientConfig(cfg: S3StorageConfig): S3ClientConfig {
  const checksums = cfg.checksums === 'auto' ? (cfg.endpoint ? 'when_required' : 'when_supported') : cfg.checksums;
  const mode = checksums === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
  return {
    region: cfg.region,
    ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
    forcePathStyle: cfg.forcePathStyle ?? Boolean(cfg.endpoint),
    ...(cfg.profile ? { profile: cfg.profile } : {}),
    requestChecksumCalculation: mode,
    responseChecksumValidation: mode,
    // Every wait is bounded: a connection not made within connectTimeoutSec, or a request on which no byte moves
    // for idleTimeoutSec (a stalled upload, a download that stops mid-body), fails and is retried; 3 attempts.
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: (cfg.connectTimeoutSec ?? S3_CONNECT_TIMEOUT_SEC) * 1000,
      socketTimeout: (cfg.idleTimeoutSec ?? S3_IDLE_TIMEOUT_SEC) * 1000,
    }),
  };
}

/** S3 may report the key id as given, or as a full ARN of it. */
export function kmsKeyMatches(reported: string | undefined, configured: string): boolean {
  if (!reported) return false;
  if (reported === configured) return true;
  const tail = (s: string): string => s.replace(/^arn:[^:]*:kms:[^:]*:[^:]*:key\//, '');
  return tail(reported) === tail(configured) || reported.endsWith(`/${configured}`);
}

/** x-amz-restore: 'ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"' (pure). */
export function parseRestoreHeader(h: string | undefined): { ongoing: boolean; expiry?: string } | undefined {
  if (!h) return undefined;
  const ongoing = /ongoing-request="true"/.test(h);
  const expiry = /expiry-date="([^"]+)"/.exec(h)?.[1];
  return { ongoing, ...(expiry ? { expiry } : {}) };
}
