// The redis section of an env: connection (ACL user, TLS), backup mode, how a restore stops and starts Redis.

import { z } from 'zod';
import { compressionFields, secretRefSchema } from './common.js';
import { transportSchema } from './transport.js';

const redisTlsSchema = z.strictObject({
  caFile: z.string().min(1).optional(),
  certFile: z.string().min(1).optional(),
  keyFile: z.string().min(1).optional(),
  sni: z.string().min(1).optional(),
  insecure: z.boolean().default(false),
});

/** How a restore stops and starts Redis where it runs. */
export const redisRestoreSchema = z.strictObject({
  /** argv that stops Redis; default: redis-cli SHUTDOWN SAVE (refused, Redis still running, when it cannot save). */
  stop: z.array(z.string().min(1)).min(1).optional(),
  /** argv that starts Redis (e.g. [systemctl, start, redis-server] or [redis-server, /etc/redis/redis.conf]). */
  start: z.array(z.string().min(1)).min(1),
  /** The config file the start command uses; needed when appendonly is yes (set to no for the load). */
  configFile: z.string().min(1).optional(),
  loadTimeoutSec: z.number().int().min(1).max(86400).default(600),
});

export const redisSchema = z.strictObject({
  transport: transportSchema.prefault({ type: 'local' }),
  /** Instance name used in object keys. */
  name: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, ".", "_" and "-" only')
    .default('redis'),
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(1).max(65535).default(6379),
  /** ACL user (redis-cli --user); the password travels as REDISCLI_AUTH, never in argv. */
  user: z.string().min(1).optional(),
  password: secretRefSchema.optional(),
  tls: redisTlsSchema.optional(),
  /**
   * A replica of this Redis (same user, password and TLS): backups are taken from it, and the primary is never forked
   * for a backup while one is configured. A replica that is not in sync (link down, or no byte from the primary for
   * maxLagSec) fails the backup instead (exit 1); `doctor` checks it too.
   */
  replica: z
    .strictObject({
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535),
      /** Refuse a replica that heard nothing from its primary for longer (an idle primary pings every 10 s). */
      maxLagSec: z
        .number()
        .int()
        .min(
          15,
          'must be at least 15: an idle primary pings its replicas only every repl-ping-replica-period (10 s by default)',
        )
        .max(86_400)
        .default(60),
    })
    .optional(),
  /**
   * The key `igbackup redis heartbeat` (scheduled every minute) sets to the time on the primary. A backup records the
   * beat its source had; a drill reads it from the restored data: the RPO measured, replication lag included.
   */
  heartbeatKey: z.string().min(1).max(200).default('igbackup:heartbeat'),
  /** rdb-stream: redis-cli --rdb - (no file access needed); bgsave: BGSAVE, then stream the dump.rdb file. */
  mode: z.enum(['rdb-stream', 'bgsave']).default('rdb-stream'),
  bgsaveTimeoutSec: z.number().int().min(1).max(86400).default(3600),
  ...compressionFields,
  binDir: z.string().optional(),
  restore: redisRestoreSchema.optional(),
  /** What `igbackup redis check` expects of the server's persistence settings. */
  expect: z
    .strictObject({
      save: z.string().optional(),
      appendonly: z.boolean().optional(),
    })
    .optional(),
});
export type RedisConfig = z.infer<typeof redisSchema>;
