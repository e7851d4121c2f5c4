// Where backups live: an S3 bucket (SSE-KMS, lifecycle, timeouts) or a local directory.

import { z } from 'zod';

/**
 * Store an artifact larger than this as several objects (segments) that its manifest lists; for servers with a
 * smaller object size limit. S3 stores segment on their own at 10,000 parts of the capped part size.
 */
const segmentMiB = z
  .number()
  .int()
  .min(1)
  .max(5 * 1024 * 1024)
  .optional();

const s3StorageSchema = z
  .strictObject({
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
    /**
     * What an upload may hold in memory: parts in flight (queueSize), the one being filled, and one for copies not yet freed. Caps the part size, so
     * the runner's memory stays flat at any artifact size; an artifact larger than 10,000 parts of that size is stored
     * in segments. The default keeps igbackup well inside the generated CronJob's 512 MiB limit.
     */
    memoryBudgetMiB: z.number().int().min(16).max(65_536).default(192),
    segmentMiB,
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
    /**
     * Write-once backups (S3 Object Lock): every artifact and manifest igbackup writes carries this retention
     * explicitly (a wrong bucket default cannot shorten it); `storage init` creates the bucket with Object Lock and
     * sets it as the bucket's default. COMPLIANCE: nobody can delete a locked version before its date (not even the
     * account's root); GOVERNANCE: only with s3:BypassGovernanceRetention. Days default to the lifecycle's
     * transition age, so a backup stays locked at least until it is archived.
     */
    immutability: z
      .strictObject({
        mode: z.enum(['COMPLIANCE', 'GOVERNANCE']).default('COMPLIANCE'),
        days: z.number().int().min(1).max(36_500).optional(),
      })
      .optional(),
  })
  .refine((s) => s.memoryBudgetMiB >= (s.queueSize + 2) * s.minPartSizeMiB, {
    path: ['memoryBudgetMiB'],
    message:
      'is smaller than (queueSize + 2) x minPartSizeMiB, the least one upload holds in memory: raise memoryBudgetMiB, or lower queueSize or minPartSizeMiB',
  });

const fileStorageSchema = z.strictObject({
  type: z.literal('file'),
  path: z.string().min(1),
  prefix: z.string().default(''),
  segmentMiB,
});

export const storageSchema = z.discriminatedUnion('type', [s3StorageSchema, fileStorageSchema]);
export type StorageConfig = z.infer<typeof storageSchema>;
export type S3StorageConfig = z.infer<typeof s3StorageSchema>;
export type FileStorageConfig = z.infer<typeof fileStorageSchema>;
