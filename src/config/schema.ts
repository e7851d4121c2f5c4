// The igbackup.yaml schema (zod): every key documented in config.example.yaml, unknown keys rejected. The sections
// live in config/sections/; this file composes an env and the whole file.

import { z } from 'zod';
import { LIMITS } from '../domain/limits.js';
import { scheduleSchema } from './schedule-schema.js';
import { boundedInt } from './sections/common.js';
import { drillSchema } from './sections/drill.js';
import { neo4jSchema } from './sections/neo4j.js';
import { postgresSchema } from './sections/postgres.js';
import { redisSchema } from './sections/redis.js';
import { storageSchema } from './sections/storage.js';
import type { EngineName } from '../engines/engine.js';
import { ENGINE_REGISTRY } from '../engines/registry.js';

export { secretRefSchema, type SecretRef } from './sections/common.js';
export {
  transportSchema,
  type TransportConfig,
  type SshTransportConfig,
  type SshHopConfig,
  type KubernetesTransportConfig,
} from './sections/transport.js';
export { storageSchema, type StorageConfig, type S3StorageConfig, type FileStorageConfig } from './sections/storage.js';
export { postgresSchema, type PostgresConfig } from './sections/postgres.js';
export { redisSchema, type RedisConfig } from './sections/redis.js';
export { neo4jSchema, type Neo4jConfig } from './sections/neo4j.js';

export const tierSchema = z.strictObject({
  rpoMinutes: z.number().positive().max(525_600),
  rtoMinutes: z.number().positive().max(525_600),
});

export const envSchema = z.strictObject({
  protected: z.boolean().default(false),
  tier: z.string().optional(),
  /** Defaults for `igbackup prune`. */
  retention: z
    .strictObject({
      keepLast: boundedInt(LIMITS.keepLast).default(7),
      keepDays: boundedInt(LIMITS.keepDays).default(14),
      /** Objects without a manifest are removed only when older than this (a backup may still be running). */
      orphanGraceHours: z.number().min(0).max(8760).default(24),
    })
    .prefault({}),
  storage: storageSchema,
  /** Where backups publish their metrics (Prometheus): a Pushgateway and/or a node-exporter textfile. */
  metrics: z
    .strictObject({
      pushgateway: z.url().optional(),
      job: z.string().min(1).default('igbackup'),
      textfile: z.string().min(1).optional(),
    })
    .optional(),
  /** `igbackup schedule crontab|k8s`: when each engine is backed up, and how the jobs run. */
  schedule: scheduleSchema.optional(),
  /** `igbackup drill`: smoke tests run against the throwaway restore. */
  drill: drillSchema,
  postgres: postgresSchema.optional(),
  redis: redisSchema.optional(),
  neo4j: neo4jSchema.optional(),
});
export type EnvConfig = z.infer<typeof envSchema>;

export const configSchema = z.strictObject({
  tiers: z.record(z.string(), tierSchema).default({}),
  envs: z.record(z.string(), envSchema).refine((envs) => Object.keys(envs).length > 0, 'define at least one env'),
});
export type Config = z.infer<typeof configSchema>;

/** The engines, in the order commands list them (the registry in engines/ says what each is). */
export const ENGINES = Object.keys(ENGINE_REGISTRY) as EngineName[];
export type { EngineName };
