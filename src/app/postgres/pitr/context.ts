// What every PITR use case shares: the env's postgres.pitr section and S3 repository resolved once, the transport to
// the database host, and pgBackRest calls through it (the database password in the environment, never argv).

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { PostgresConfig, S3StorageConfig } from '../../../config/schema.js';
import { resolveSecret } from '../../../config/secrets.js';
import { ConfigError, ProcessFailedError, StorageError } from '../../../domain/errors.js';
import * as pitrRepo from '../../../engines/postgres/pitr-repo.js';
import type { PgConnection } from '../../../engines/postgres/commands.js';
import * as pg from '../../../engines/postgres/commands.js';
import * as pitr from '../../../engines/postgres/pitr.js';
import { capture, type Captured } from '../../../transports/run.js';
import { succeeded, type Transport } from '../../../transports/transport.js';
import { pgConnection, postgresSection, type AppContext, type EnvHandle } from '../../context.js';
import { openTransport } from '../../transports.js';

export interface PitrTarget {
  h: EnvHandle;
  cfg: PostgresConfig;
  p: pitr.EnvPitr;
  s3: S3StorageConfig;
  conn: PgConnection;
  transport: Transport;
  /** s3://bucket/path of the repository, for messages. */
  repoUrl: string;
}

/** The env's PITR settings (a config error naming what to add when there are none), and the transport opened. */
export async function openPitr(ctx: AppContext, h: EnvHandle): Promise<PitrTarget> {
  const cfg = postgresSection(ctx, h);
  const given = cfg.pitr;
  if (!given) {
    throw new ConfigError(`env "${h.name}" has no postgres.pitr section in ${ctx.configFile}`, [], {
      hint: `add envs.${h.name}.postgres.pitr with at least dataDir (see config.example.yaml), then run igbackup pitr enable --env ${h.name}`,
    });
  }
  const p = pitr.withConfPath(given, h.name);
  const s3 = h.env.storage;
  if (s3.type !== 's3') {
    throw new ConfigError(`point-in-time recovery needs an S3 store: env "${h.name}" uses a ${s3.type} store`, [], {
      hint: 'pgBackRest keeps its repository in the env bucket (SSE-KMS); configure storage.type s3',
    });
  }
  const conn = await pgConnection(ctx, h, cfg);
  const transport = await openTransport(ctx, cfg.transport, `envs.${h.name}.postgres`);
  const path = pitr.repoPath(s3.prefix, h.name, p.cluster);
  return { h, cfg, p, s3, conn, transport, repoUrl: `s3://${s3.bucket}${path}` };
}

/** The pgbackrest.conf content for the target, secrets resolved (it is written with mode 600 and never logged). */
export async function renderConf(ctx: AppContext, t: PitrTarget, caPathOnHost: string | undefined): Promise<string> {
  const where = `envs.${t.h.name}.postgres.pitr`;
  const creds = t.p.s3Credentials;
  const secret = async (ref: Parameters<typeof resolveSecret>[0], what: string): Promise<string> => {
    const v = await resolveSecret(ref, ctx.environ, `${where}.${what}`);
    ctx.secrets.add(v);
    if (pitr.unsafeConfValue(v)) throw new ConfigError(`${where}.${what}: the value holds a line break`, []);
    return v;
  };
  const secrets: pitr.RepoSecrets = {
    ...(creds === 'auto'
      ? {}
      : {
          accessKeyId: await secret(creds.accessKeyId, 's3Credentials.accessKeyId'),
          secretAccessKey: await secret(creds.secretAccessKey, 's3Credentials.secretAccessKey'),
        }),
    ...(t.p.cipherPassphrase ? { cipherPass: await secret(t.p.cipherPassphrase, 'cipherPassphrase') } : {}),
  };
  const repo: pitr.RepoTarget = {
    bucket: t.s3.bucket,
    region: t.s3.region,
    endpoint: t.s3.endpoint,
    forcePathStyle: t.s3.forcePathStyle,
    caFile: caPathOnHost,
    kmsKeyId: t.s3.kmsKeyId,
    path: pitr.repoPath(t.s3.prefix, t.h.name, t.p.cluster),
  };
  return pitr.renderConf({
    pitr: t.p,
    repo,
    secrets,
    port: t.cfg.port,
    user: t.conn.user,
    keepDays: t.h.env.retention.keepDays,
  });
}

/** The CA certificate igbackup trusts for the bucket (storage.caFile), to be copied to the database host. */
export async function caCertificate(ctx: AppContext, t: PitrTarget): Promise<string | undefined> {
  if (!t.s3.caFile) return undefined;
  return readFile(resolve(ctx.configDir, t.s3.caFile), 'utf8');
}

/** Runs pgBackRest on the host with the database password in its environment. */
export async function runPgbackrest(t: PitrTarget, args: string[]): Promise<Captured> {
  return capture(t.transport, pitr.pgbackrest(t.p, args, t.conn.password ? { PGPASSWORD: t.conn.password } : {}));
}

/** Like runPgbackrest, but a failure throws naming the subcommand and the hint. */
export async function pgbackrestOk(t: PitrTarget, args: string[], hint: string): Promise<string> {
  const r = await runPgbackrest(t, args);
  if (succeeded(r)) return r.stdout;
  const refused = pitrRepo.repoRefusal(`${r.stdout}\n${r.stderrTail}`);
  if (refused)
    throw new StorageError(`pgbackrest ${args[0] ?? ''}: ${refused.what} at ${t.repoUrl}`, { hint: refused.hint });
  throw new ProcessFailedError(`pgbackrest ${args[0] ?? ''}`, r, { hint });
  return r.stdout;
}

/** One JSON row from psql on the maintenance database. */
export async function queryJson<T>(t: PitrTarget, sql: string, what: string): Promise<T> {
  const r = await capture(t.transport, pg.psqlCommand(t.conn, t.cfg.maintenanceDatabase), sql);
  if (!succeeded(r)) {
    throw new ProcessFailedError(`psql (${what})`, r, {
      hint: `check that ${t.conn.user}@${t.conn.host}:${t.conn.port} answers (postgres section of env ${t.h.name})`,
    });
  }
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? 'null') as T;
}
