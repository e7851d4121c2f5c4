// postgres.pitr: point-in-time recovery through pgBackRest (continuous WAL archiving plus physical base backups into
// the env's bucket). pgBackRest runs where PostgreSQL runs, as the data directory's owner.

import { z } from 'zod';
import { argvSchema, secretRefSchema } from './common.js';

export const pitrSchema = z.strictObject({
  /** The pgBackRest stanza: one per PostgreSQL cluster. */
  cluster: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,63}$/, 'letters, digits, "_" and "-" (it names the stanza and a folder)')
    .default('main'),
  /** The cluster's data directory on its host (pgBackRest's pg1-path). */
  dataDir: z.string().regex(/^\//, 'an absolute path').min(2),
  /** The server's Unix socket directory, when not the default (/var/run/postgresql). */
  socketDir: z.string().regex(/^\//, 'an absolute path').optional(),
  /** Put before every pgBackRest call and file write on the host, e.g. [sudo, -n, -u, postgres, --]. */
  runAs: z.array(z.string().min(1)).default([]),
  pgbackrest: z.string().min(1).default('pgbackrest'),
  /** Where igbackup writes pgbackrest.conf on the host (mode 600: it holds the repository's credentials). */
  configFile: z.string().regex(/^\//, 'an absolute path').optional(),
  /** pgBackRest's log, lock and spool directories go under this directory on the host. */
  workDir: z.string().regex(/^\//, 'an absolute path').default('/var/lib/pgbackrest/igbackup'),
  /** PostgreSQL's archive_timeout: a WAL switch at least this often while there are writes (bounds the RPO). */
  archiveTimeoutSec: z.number().int().min(1).max(3600).default(60),
  processMax: z.number().int().min(1).max(64).default(2),
  compressType: z.enum(['zst', 'lz4', 'gz', 'none']).default('zst'),
  /**
   * Full base backups kept (with the WAL they need); older ones are expired by pgBackRest after each backup. Default:
   * from the env's retention: every full backup needed to recover to any moment of the last retention.keepDays days.
   */
  retentionFull: z.number().int().min(1).max(9999).optional(),
  /** S3 credentials for pgBackRest: "auto" (instance or pod role) or keys by reference (written into the mode-600 file). */
  s3Credentials: z
    .union([z.literal('auto'), z.strictObject({ accessKeyId: secretRefSchema, secretAccessKey: secretRefSchema })])
    .default('auto'),
  /** Client-side encryption of the repository (aes-256-cbc) on top of SSE-KMS, with this passphrase. */
  cipherPassphrase: secretRefSchema.optional(),
  /** Stops and starts the server for restore --physical --in-place (default: pg_ctl on dataDir, as runAs). */
  stop: argvSchema.optional(),
  start: argvSchema.optional(),
  /** Restarts the server (pitr enable --restart, when archive_mode or wal_level must change). */
  restart: argvSchema.optional(),
  /** The directory of pg_ctl on the host, for restores into a new data directory (default: from the server's version). */
  pgBin: z.string().regex(/^\//, 'an absolute path').optional(),
  /** restore --physical: how long the restored copy may take to replay WAL and be promoted. */
  recoveryTimeoutSec: z.number().int().min(10).max(86400).default(3600),
  /** status: a newest base backup older than this is a breach. */
  maxBaseBackupAgeHours: z
    .number()
    .min(1)
    .max(24 * 366)
    .default(8 * 24),
});
export type PitrConfig = z.infer<typeof pitrSchema>;
