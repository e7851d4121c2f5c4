// The igbackup.yaml schema (zod): every key documented in config.example.yaml, unknown keys rejected.

import { z } from 'zod';
import { COMPRESSIONS } from '../domain/compression.js';
import { scheduleSchema } from './schedule-schema.js';
import { LIMITS, type Range } from '../domain/limits.js';

/** A whole number within one of the shared ranges (the same range as the flag of that name). */
const boundedInt = (r: Range) => z.number().int().min(r.min).max(r.max);

/** A secret is given by reference only: the name of an environment variable or a file path, never inline. */
export const secretRefSchema = z.strictObject({
  env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').optional(),
  file: z.string().min(1).optional(),
}).refine((r) => (r.env === undefined) !== (r.file === undefined), {
  message: 'give exactly one of "env" (variable name) or "file" (path); inline secrets are not accepted',
});
export type SecretRef = z.infer<typeof secretRefSchema>;

const localTransportSchema = z.strictObject({
  type: z.literal('local'),
  /** A backup's producer that writes nothing for this long is killed (a pg_dump stuck behind a lock, say). */
  idleTimeoutSec: z.number().int().min(1).max(86400).default(600),
});

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** One SSH hop: how to reach it, how to log in, how its host key is checked. */
const sshHopSchema = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(22),
  user: z.string().min(1),
  /** Private key file; its passphrase by reference. Without it, the ssh-agent at $SSH_AUTH_SOCK is used. */
  identityFile: z.string().min(1).optional(),
  passphrase: secretRefSchema.optional(),
  agent: z.boolean().optional(),
  /** known_hosts file to check the host key against (default ~/.ssh/known_hosts). */
  knownHosts: z.string().min(1).optional(),
  /** Pinned host key fingerprint, as ssh-keygen -lf prints it: SHA256:<43 base64 chars>. */
  hostKeyFingerprint: z.string().regex(FINGERPRINT, 'must look like SHA256:<43 base64 characters> (ssh-keygen -lf)').optional(),
});

const sshTransportSchema = sshHopSchema.extend({
  type: z.literal('ssh'),
  jump: sshHopSchema.optional(),
  keepaliveIntervalSec: z.number().int().min(0).max(3600).default(15),
  keepaliveCountMax: z.number().int().min(1).max(100).default(4),
  connectTimeoutSec: z.number().int().min(1).max(600).default(20),
  /** A backup stream that delivers no bytes for this long is killed and fails. */
  idleTimeoutSec: z.number().int().min(1).max(86400).default(600),
});

const kubernetesTransportSchema = z
  .strictObject({
    type: z.literal('kubernetes'),
    namespace: z.string().min(1).default('default'),
    pod: z.string().min(1).optional(),
    /** Label selector (kubectl get pods -l); a Running, Ready pod is chosen. */
    selector: z.string().min(1).optional(),
    /** Among selected pods prefer the one with this label (e.g. "role=primary" for a Postgres primary). */
    primaryLabel: z.string().regex(/^[^=\s]+=[^=\s]*$/, 'must be key=value').optional(),
    container: z.string().min(1).optional(),
    context: z.string().min(1).optional(),
    kubeconfig: z.string().min(1).optional(),
    kubectl: z.string().min(1).default('kubectl'),
    idleTimeoutSec: z.number().int().min(1).max(86400).default(600),
  })
  .refine((k) => (k.pod === undefined) !== (k.selector === undefined), {
    message: 'give exactly one of "pod" (a pod name) or "selector" (a label selector)',
  });

export const transportSchema = z.discriminatedUnion('type', [localTransportSchema, sshTransportSchema, kubernetesTransportSchema]);
export type TransportConfig = z.infer<typeof transportSchema>;
export type SshTransportConfig = z.infer<typeof sshTransportSchema>;
export type SshHopConfig = z.infer<typeof sshHopSchema>;
export type KubernetesTransportConfig = z.infer<typeof kubernetesTransportSchema>;

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

/** How artifacts are compressed on the runner; shared by every engine. */
const compressionFields = {
  compression: z.enum(COMPRESSIONS).default('zstd'),
  zstdLevel: z.number().int().min(1).max(19).default(1),
  zstdThreads: z.number().int().min(0).max(64).default(0),
};

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
});
export type PostgresConfig = z.infer<typeof postgresSchema>;

const redisTlsSchema = z.strictObject({
  caFile: z.string().min(1).optional(),
  certFile: z.string().min(1).optional(),
  keyFile: z.string().min(1).optional(),
  sni: z.string().min(1).optional(),
  insecure: z.boolean().default(false),
});

/** How a restore stops and starts Redis where it runs. */
const redisRestoreSchema = z.strictObject({
  /** argv that stops Redis; default: redis-cli SHUTDOWN NOSAVE. */
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
  name: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, ".", "_" and "-" only').default('redis'),
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number().int().min(1).max(65535).default(6379),
  /** ACL user (redis-cli --user); the password travels as REDISCLI_AUTH, never in argv. */
  user: z.string().min(1).optional(),
  password: secretRefSchema.optional(),
  tls: redisTlsSchema.optional(),
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

const argvSchema = z.array(z.string().min(1)).min(1);

export const neo4jSchema = z.strictObject({
  transport: transportSchema.prefault({ type: 'local' }),
  /** community: offline dump (the DBMS is stopped); enterprise: online `database backup`. */
  edition: z.enum(['community', 'enterprise']).default('community'),
  /** neo4j-admin syntax: 5 (`database dump/load`) or 4.4 (`dump`/`load`). */
  syntax: z.enum(['5', '4.4']).default('5'),
  databases: z.array(z.string().regex(/^[A-Za-z0-9._-]{1,63}$/, 'a Neo4j database name')).min(1).default(['neo4j']),
  neo4jAdmin: z.string().min(1).default('neo4j-admin'),
  /** How the DBMS is stopped, started and probed on a VM (or locally). */
  service: z
    .strictObject({
      stop: argvSchema.default(['systemctl', 'stop', 'neo4j']),
      start: argvSchema.default(['systemctl', 'start', 'neo4j']),
      /** Exits 0 when Neo4j runs and answers, non-zero when it is stopped. */
      status: argvSchema.default(['systemctl', 'is-active', '--quiet', 'neo4j']),
      readyTimeoutSec: z.number().int().min(1).max(3600).default(300),
      startAttempts: z.number().int().min(1).max(10).default(3),
    })
    .prefault({}),
  enterprise: z
    .strictObject({
      /** --from=host:port of the backup server (default: the local instance). */
      from: z.string().min(1).optional(),
      /** Scratch directory on the Neo4j host for backup artifacts and restores. */
      workDir: z.string().min(1).default('/tmp/igbackup-neo4j'),
    })
    .prefault({}),
  /** Kubernetes (Community): scale the StatefulSet to 0 and dump from a helper pod that mounts the data PVC. */
  kubernetes: z
    .strictObject({
      statefulSet: z.string().min(1),
      pvc: z.string().min(1),
      image: z.string().min(1),
      mountPath: z.string().min(1).default('/data'),
      helperTimeoutSec: z.number().int().min(1).max(3600).default(300),
      rolloutTimeoutSec: z.number().int().min(1).max(7200).default(600),
    })
    .optional(),
  ...compressionFields,
});
export type Neo4jConfig = z.infer<typeof neo4jSchema>;

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
  drill: z
    .strictObject({
      postgres: z
        .array(z.strictObject({ database: z.string().optional(), sql: z.string().min(1), expect: z.string() }))
        .default([]),
      redis: z
        .array(
          z.strictObject({
            command: z.array(z.string().min(1)).min(1),
            expect: z.string().optional(),
            min: z.number().finite().optional(),
          }),
        )
        .default([]),
      /** Cypher smoke tests, run against a throwaway DBMS started from the restored copy on this machine. */
      neo4j: z
        .array(z.strictObject({ database: z.string().optional(), cypher: z.string().min(1), expect: z.string() }))
        .default([]),
      /** The throwaway Neo4j DBMS (verify and drill): the installed Neo4j started with its own neo4j.conf. */
      neo4jScratch: z
        .strictObject({
          neo4j: z.string().min(1).default('neo4j'),
          cypherShell: z.string().min(1).default('cypher-shell'),
          readyTimeoutSec: z.number().int().min(1).max(3600).default(300),
          heap: z.string().regex(/^\d+[kmgKMG]?$/, 'a size such as 512m').default('512m'),
          pageCache: z.string().regex(/^\d+[kmgKMG]?$/, 'a size such as 256m').default('256m'),
        })
        .prefault({}),
      /**
       * Drills in a fresh namespace igbackup-drill-<ts>-<engine>, each engine's workload from its own manifest:
       * PostgreSQL with the fields at this level (manifest, pod, host, port, user, password), Redis and Neo4j with
       * their blocks.
       */
      kubernetes: z
        .strictObject({
          manifest: z.string().min(1).optional(),
          /** The pod of the applied workload that runs PostgreSQL (e.g. postgres-0). */
          pod: z.string().min(1).optional(),
          container: z.string().min(1).optional(),
          context: z.string().min(1).optional(),
          kubeconfig: z.string().min(1).optional(),
          kubectl: z.string().min(1).default('kubectl'),
          readyTimeoutSec: z.number().int().min(1).max(7200).default(600),
          /** How the drill connects to the throwaway PostgreSQL inside the pod. */
          host: z.string().min(1).default('127.0.0.1'),
          port: z.number().int().min(1).max(65535).default(5432),
          user: z.string().min(1).default('postgres'),
          password: secretRefSchema.optional(),
          redis: z
            .strictObject({
              manifest: z.string().min(1),
              /** The pod of the applied workload that runs Redis (e.g. drill-redis-0). */
              pod: z.string().min(1),
              container: z.string().min(1).optional(),
              port: z.number().int().min(1).max(65535).default(6379),
              password: secretRefSchema.optional(),
              /** How the restore stops and starts Redis in that pod; default: the env's redis.restore. */
              restore: redisRestoreSchema.optional(),
            })
            .optional(),
          /**
           * Neo4j: its own workload (a StatefulSet with a data PVC); the restore goes in offline (scaled to 0, a helper
           * pod on the PVC loads and checks, scaled back), then the Cypher checks run in its pod through cypher-shell.
           */
          neo4j: z
            .strictObject({
              manifest: z.string().min(1),
              statefulSet: z.string().min(1),
              /** Its pod (default <statefulSet>-0). */
              pod: z.string().min(1).optional(),
              container: z.string().min(1).optional(),
              pvc: z.string().min(1),
              /** The image of the helper pod (the workload's Neo4j image). */
              image: z.string().min(1),
              mountPath: z.string().min(1).default('/data'),
              boltPort: z.number().int().min(1).max(65535).default(7687),
              username: z.string().min(1).default('neo4j'),
              /** The drill workload's Neo4j password (reaches cypher-shell as NEO4J_PASSWORD, never argv). */
              password: secretRefSchema.optional(),
              cypherShell: z.string().min(1).default('cypher-shell'),
            })
            .optional(),
        })
        .refine((k) => Boolean(k.manifest) === Boolean(k.pod), { message: 'manifest and pod go together (the PostgreSQL drill workload and its pod)' })
        .optional(),
    })
    .prefault({}),
  postgres: postgresSchema.optional(),
  redis: redisSchema.optional(),
  neo4j: neo4jSchema.optional(),
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

export const ENGINES = ['postgres', 'redis', 'neo4j'] as const;
export type EngineName = (typeof ENGINES)[number];
