// Use case: back up PostgreSQL databases (pg_dump -Fc, optional globals) as verified artifacts, manifest last.

import { compressionExtension, type Compression } from '../domain/compression.js';
import { ConfigError, ProcessFailedError } from '../domain/errors.js';
import { artifactKey } from '../domain/keys.js';
import type { ManifestArtifact } from '../domain/manifest.js';
import * as pg from '../engines/postgres/commands.js';
import { capture } from '../transports/run.js';
import { succeeded, type Transport } from '../transports/transport.js';
import { removeArtifacts, uploadArtifact } from './artifact.js';
import { forEachDatabase, runnerTools, writeManifest, type BackupOutcome } from './backup-common.js';
import { pgConnection, postgresSection, type AppContext, type EnvHandle } from './context.js';
import { openTransport, producerIdleMs } from './transports.js';

export interface BackupOptions {
  database?: string | undefined;
  compression?: Compression | undefined;
  globals?: boolean | undefined;
}

export interface BackupResult {
  env: string;
  engine: string;
  database: string;
  key: string;
  manifestKey: string;
  bytes: number;
  rawBytes: number;
  sha256: string;
  durationMs: number;
  artifacts: ManifestArtifact[];
}

/** Backs up the env's configured databases (or one) in turn, with the env resolved once by the caller. */
export async function backupPostgres(
  ctx: AppContext,
  h: EnvHandle,
  opts: BackupOptions,
): Promise<BackupOutcome<BackupResult>> {
  const cfg = postgresSection(ctx, h);
  if (opts.database !== undefined && !cfg.databases.includes(opts.database)) {
    throw new ConfigError(`database "${opts.database}" is not configured for env "${h.name}"`, [], {
      hint: `use one of: ${cfg.databases.join(', ')} (or add it to envs.${h.name}.postgres.databases)`,
    });
  }
  const compression = opts.compression ?? cfg.compression;
  const conn = await pgConnection(ctx, h, cfg);
  const transport = await openTransport(ctx, cfg.transport, `envs.${h.name}.postgres`);
  try {
    const tools = await preflight(ctx, transport, conn, compression, opts.globals ?? cfg.globals);
    const databases = opts.database ? [opts.database] : cfg.databases;
    await requireDatabases(ctx, h.name, transport, conn, cfg.maintenanceDatabase, databases);
    return await forEachDatabase(ctx, 'postgres', databases, (database) =>
      backupOne(ctx, { h, cfg, conn, transport, tools, compression, database, globals: opts.globals ?? cfg.globals }),
    );
  } finally {
    await transport.close();
  }
}

/** Checks the tools exist and the server answers, before anything is uploaded. */
async function preflight(
  ctx: AppContext,
  transport: Transport,
  conn: pg.PgConnection,
  compression: Compression,
  globals: boolean,
): Promise<Record<string, string>> {
  const tools: Record<string, string> = {};
  const programs: ('pg_dump' | 'pg_dumpall')[] = globals ? ['pg_dump', 'pg_dumpall'] : ['pg_dump'];
  for (const p of programs) {
    const r = await capture(transport, pg.versionCommand(conn, p));
    if (!succeeded(r))
      throw new ProcessFailedError(p, r, {
        hint: `install the PostgreSQL client (${p}) on ${transport.host} or set postgres.binDir`,
      });
    tools[p] = pg.parseToolVersion(r.stdout);
  }
  Object.assign(tools, await runnerTools(ctx, compression));
  return tools;
}

/** Every database to back up must exist on the server: an unknown one is a config error (exit 2) before anything runs. */
async function requireDatabases(
  ctx: AppContext,
  env: string,
  transport: Transport,
  conn: pg.PgConnection,
  maintenanceDb: string,
  databases: string[],
): Promise<void> {
  const r = await capture(transport, pg.psqlCommand(conn, maintenanceDb), pg.sql.existingDatabases(databases));
  if (!succeeded(r)) {
    throw new ProcessFailedError(`psql (connecting to ${conn.host}:${conn.port}/${maintenanceDb})`, r, {
      hint: `check that the server answers and ${conn.user} may connect to ${maintenanceDb} (postgres.maintenanceDatabase); psql must be installed on ${transport.host} (or postgres.binDir set)`,
    });
  }
  const found = new Set(
    r.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean),
  );
  const missing = databases.filter((_, i) => !found.has(String(i + 1)));
  if (missing.length) {
    throw new ConfigError(
      `database(s) ${missing.map((d) => JSON.stringify(d)).join(', ')} not found on ${conn.host}:${conn.port}: nothing was backed up`,
      [],
      {
        hint: `create them, or remove them from envs.${env}.postgres.databases in ${ctx.configFile}`,
      },
    );
  }
}

interface OneJob {
  h: EnvHandle;
  cfg: NonNullable<ReturnType<typeof postgresSection>>;
  conn: pg.PgConnection;
  transport: Transport;
  tools: Record<string, string>;
  compression: Compression;
  database: string;
  globals: boolean;
}

async function backupOne(ctx: AppContext, job: OneJob): Promise<BackupResult> {
  const { h, cfg, conn, transport, compression, database } = job;
  const started = ctx.now();
  const t0 = performance.now();
  const tools = { ...job.tools };
  const estimate = await estimateSize(ctx, transport, conn, cfg.maintenanceDatabase, database);
  if (estimate.serverVersion) tools.server = estimate.serverVersion;
  const key = keyFor(job, started, pg.DUMP_EXTENSION);
  const artifacts: ManifestArtifact[] = [];
  try {
    ctx.reporter.step(`dumping ${database} to ${h.store.description}/${key}`);
    artifacts.push(
      await uploadArtifact(ctx, h.store, {
        ...streamOptions(job),
        role: 'dump',
        key,
        command: pg.dumpCommand(conn, database, cfg.lockWaitTimeoutSec),
        magic: pg.DUMP_MAGIC,
        sizeEstimate: estimate.bytes,
        producerHint: `check that database "${database}" exists and ${conn.user}@${conn.host}:${conn.port} may read it`,
      }),
    );
    if (job.globals) artifacts.push(await uploadGlobals(ctx, job, started));
    const durationMs = Math.round(performance.now() - t0);
    const { manifestKey } = await writeManifest(ctx, h, {
      engine: 'postgres',
      database,
      transport,
      address: `${conn.host}:${conn.port}`,
      format: pg.ARTIFACT_FORMAT,
      compression,
      artifacts,
      tools,
      started,
      durationMs,
    });
    const dump = artifacts[0] as ManifestArtifact;
    return {
      env: h.name,
      engine: 'postgres',
      database,
      key,
      manifestKey,
      bytes: dump.bytes,
      rawBytes: dump.rawBytes,
      sha256: dump.sha256,
      durationMs,
      artifacts,
    };
  } catch (err) {
    throw await removeArtifacts(ctx, h.store, artifacts, err);
  }
}

/** The key of one of this backup's artifacts (the dump, the globals), compression extension included. */
function keyFor(job: OneJob, started: Date, extension: string): string {
  return artifactKey({
    storePrefix: job.h.store.prefix,
    env: job.h.name,
    engine: 'postgres',
    name: job.database,
    startedAt: started,
    extension: `${extension}${compressionExtension(job.compression)}`,
  });
}

/** How every artifact of the job is streamed: through its transport, compressed, with the producer idle bound. */
function streamOptions(job: OneJob) {
  return {
    idleTimeoutMs: producerIdleMs(job.cfg.transport),
    transport: job.transport,
    compression: job.compression,
    zstd: { level: job.cfg.zstdLevel, threads: job.cfg.zstdThreads },
  };
}

/** Roles and tablespaces (pg_dumpall --globals-only), stored beside the dump. */
async function uploadGlobals(ctx: AppContext, job: OneJob, started: Date): Promise<ManifestArtifact> {
  const key = keyFor(job, started, pg.GLOBALS_EXTENSION);
  ctx.reporter.step(`dumping globals (roles, tablespaces) to ${key}`);
  return uploadArtifact(ctx, job.h.store, {
    ...streamOptions(job),
    role: 'globals',
    key,
    command: pg.globalsCommand(job.conn, job.cfg.maintenanceDatabase),
    producerHint: 'pg_dumpall --globals-only needs a superuser (or set globals: false)',
  });
}

/** Database size (for multipart sizing) and server version; unknown when the query fails. */
async function estimateSize(
  ctx: AppContext,
  transport: Transport,
  conn: pg.PgConnection,
  maintenanceDb: string,
  database: string,
): Promise<{ bytes?: number; serverVersion?: string }> {
  const r = await capture(
    transport,
    pg.psqlCommand(conn, maintenanceDb),
    pg.sql.databaseSize(database) + pg.sql.serverVersion(),
  );
  const [size, version] = r.stdout.trim().split('\n');
  const bytes = Number(size);
  if (!succeeded(r) || !Number.isFinite(bytes)) {
    ctx.reporter.warn(
      `could not read the size of ${database} (${r.stderrTail.trim().split('\n')[0] ?? 'no output'}); sizing upload parts for 1 TiB`,
    );
    return {};
  }
  return { bytes, ...(version ? { serverVersion: version.trim() } : {}) };
}
