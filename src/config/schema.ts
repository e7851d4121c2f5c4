// The igbackup.yaml schema (zod): every key documented in config.example.yaml, unknown keys rejected.

import { z } from 'zod';
import { COMPRESSIONS } from '../domain/compression.js';

/** A secret is given by reference only: the name of an environment variable or a file path, never inline. */
export const secretRefSchema = z.strictObject({
  env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').optional(),
  file: z.string().min(1).optional(),
}).refine((r) => (r.env === undefined) !== (r.file === undefined), {
  message: 'give exactly one of "env" (variable name) or "file" (path); inline secrets are not accepted',
});
export type SecretRef = z.infer<typeof secretRefSchema>;

const localTransportSchema = z.strictObject({ type: z.literal('local') });
export const transportSchema = z.discriminatedUnion('type', [localTransportSchema]);
export type TransportConfig = z.infer<typeof transportSchema>;

const s3StorageSchema = z.strictObject({
  type: z.literal('s3'),
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid S3 bucket name (3-63 chars, a-z 0-9 . -)'),
  prefix: z.string().default(''),
  region: z.string().min(1).default('us-east-1'),
  endpoint: z.url().optional(),
  forcePathStyle: z.boolean().optional(),
  kmsKeyId: z.string().min(1, 'SSE-KMS is mandatory: set the KMS key id or ARN'),
  profile: z.string().optional(),
  checksums: z.enum(['auto', 'when_required', 'when_supported']).default('auto'),
  queueSize: z.number().int().min(1).max(16).default(4),
  minPartSizeMiB: z.number().int().min(5).max(5120).default(8),
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

export const postgresSchema = z.strictObject({
  transport: transportSchema.default({ type: 'local' }),
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(1).max(65535).default(5432),
  user: z.string().min(1).default('postgres'),
  password: secretRefSchema.optional(),
  sslmode: z.enum(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']).optional(),
  databases: z.array(z.string().min(1)).min(1, 'list at least one database to back up'),
  maintenanceDatabase: z.string().min(1).default('postgres'),
  compression: z.enum(COMPRESSIONS).default('zstd'),
  zstdLevel: z.number().int().min(1).max(19).default(1),
  zstdThreads: z.number().int().min(0).max(64).default(0),
  globals: z.boolean().default(false),
  binDir: z.string().optional(),
  restoreJobs: z.union([z.literal('auto'), z.number().int().min(1).max(64)]).default('auto'),
});
export type PostgresConfig = z.infer<typeof postgresSchema>;

export const tierSchema = z.strictObject({
  rpoMinutes: z.number().positive(),
  rtoMinutes: z.number().positive(),
});

export const envSchema = z.strictObject({
  protected: z.boolean().default(false),
  tier: z.string().optional(),
  storage: storageSchema,
  postgres: postgresSchema.optional(),
});
export type EnvConfig = z.infer<typeof envSchema>;

export const configSchema = z.strictObject({
  tiers: z.record(z.string(), tierSchema).default({}),
  envs: z.record(z.string(), envSchema).refine(
    (envs) => Object.keys(envs).length > 0,
    'define at least one env',
  ),
});
export type Config = z.infer<typeof configSchema>;

export const ENGINES = ['postgres'] as const;
export type EngineName = (typeof ENGINES)[number];
