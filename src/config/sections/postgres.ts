// The postgres section of an env: connection, databases, dump and restore settings.

import { z } from 'zod';
import { LIMITS } from '../../domain/limits.js';
import { boundedInt, compressionFields, secretRefSchema } from './common.js';
import { pitrSchema } from './pitr.js';
import { transportSchema } from './transport.js';

export const postgresSchema = z.strictObject({
  transport: transportSchema.prefault({ type: 'local' }),
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(1).max(65535).default(5432),
  user: z.string().min(1).default('postgres'),
  password: secretRefSchema.optional(),
  sslmode: z.enum(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']).optional(),
  databases: z.array(z.string().min(1)).min(1, 'list at least one database to back up'),
  maintenanceDatabase: z.string().min(1).default('postgres'),
  /** pg_dump --lock-wait-timeout: a table lock not granted within this many seconds fails the dump instead of waiting. */
  lockWaitTimeoutSec: z.number().int().min(1).max(86400).default(300),
  ...compressionFields,
  globals: z.boolean().default(false),
  binDir: z.string().optional(),
  restoreJobs: z.union([z.literal('auto'), boundedInt(LIMITS.restoreJobs)]).default('auto'),
  /**
   * Session settings for pg_restore's connections (libpq `options`). maintenance_work_mem sizes the index builds'
   * sorts (per job); synchronous_commit=off is safe here because the restore goes into a scratch database that is
   * only renamed/swapped in after pg_restore succeeded, by a synchronous commit that flushes all the WAL before it.
   * Set {} to use the server's defaults.
   */
  restoreSettings: z
    .record(
      z.string().regex(/^[a-z_][a-z0-9_.]*$/, 'a PostgreSQL setting name'),
      z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a setting value without spaces or quotes'),
    )
    .default({ maintenance_work_mem: '256MB', synchronous_commit: 'off' }),
  /** Point-in-time recovery through pgBackRest (igbackup pitr enable; backup/restore --physical). */
  pitr: pitrSchema.optional(),
});
export type PostgresConfig = z.infer<typeof postgresSchema>;
