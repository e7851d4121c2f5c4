// Where backups live: an S3 bucket (SSE-KMS, lifecycle, timeouts) or a local directory.

import { z } from 'zod';

const s3StorageSchema = z.strictObject({
  type: z.literal('s3'),
  bucket: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name (3-63 chars, a-z 0-9 . -)'),
  prefix: z.string().default(''),
  region: z.string().min(1).default('us-east-1'),
  endpoint: z.url().optional(),
  /** PEM file of the CA that signed the endpoint's certificate (a private CA), trusted beside the system's; relative to the config file. */
  caFile: z.string().min(1).optional(),
  forcePathStyle: z.boolean().optional(),
  kmsKeyId: z.string().min(1, 'SSE-KMS is mandatory: set the KMS key id or ARN'),
  profile: z.string().optional(),
  checksums: z.enum(['auto', 'when_required', 'when_supported']).default('auto'),
  queueSize: z.number().int().min(1).max(16).default(2),
  minPartSizeMiB: z.number().int().min(5).max(5120).default(8),
  /** A connection to the endpoint not made within this long fails (and is retried, 3 attempts in all). Default 10. */
  connectTimeoutSec: z.number().int().min(1).max(600).optional(),
  /** A request on which no byte moves for this long (a stalled upload or download) fails (and is retried). Default 60. */
  idleTimeoutSec: z.number().int().min(1).max(3600).optional(),
  /** What `igbackup storage init` sets up for the env's prefix, and `storage check` audits. */
  lifecycle: z
    .strictObject({
      transitionAfterDays: z.number().int().min(1).max(36_500).default(30),
      storageClass: z.enum(['GLACIER', 'DEEP_ARCHIVE', 'GLACIER_IR']).default('GLACIER'),
      abortIncompleteUploadsAfterDays: z.number().int().min(1).max(3650).default(7),
      noncurrentVersionExpirationDays: z.number().int().min(1).max(36_500).default(90),
    })
    .prefault({}),
});

const fileStorageSchema = z.strictObject({
  type: z.literal('file'),
  path: z.string().min(1),
  prefix: z.string().default(''),
});

export const storageSchema = z.discriminatedUnion('type', [s3StorageSchema, fileStorageSchema]);
export type StorageConfig = z.infer<typeof storageSchema>;
export type S3StorageConfig = z.infer<typeof s3StorageSchema>;
export type FileStorageConfig = z.infer<typeof fileStorageSchema>;
