// Use case: restore a PostgreSQL backup: preflight (reading only), verify the artifact, then restore into a scratch
// database and swap it in (restore-swap.ts).

import { join } from 'node:path';
import { ConfigError, ProcessFailedError } from '../../domain/errors.js';
import { mainArtifact, type Manifest } from '../../domain/manifest.js';
import { formatBytes } from '../../domain/human.js';
import * as pg from '../../engines/postgres/commands.js';
import { archiveTooNew, clientTooOld } from '../../engines/postgres/versions.js';
import { decompressStage } from '../../pipeline/compress.js';
import { downloadVerified, makeWorkspace } from '../../pipeline/restore-stream.js';
import { capture, captureOk } from '../../transports/run.js';
import { succeeded, type Transport } from '../../transports/transport.js';
import { ensureBackupReadable, type ArchiveOptions } from '../archive.js';
import { resolveBackup } from '../catalog.js';
import { requireConfirmation, type ConfirmPolicy } from '../confirm.js';
import { withRestoreLock, type RestoreLockOptions } from '../lock.js';
import { explainNoSpace, freeBytes, spaceShortage, type SpaceNeed } from '../disk-space.js';
import { applyGlobals, prepareGlobals, type GlobalsOutcome } from './restore-globals.js';
import {
  checkJobs,
  checkTargetName,
  parseRestoreFacts,
  restoreJobs,
  restoreShortcomings,
  serverName,
} from './restore-preflight.js';
import { pgConnection, postgresSection, type AppContext, type EnvHandle } from '../context.js';
import { restoreAndSwap } from './restore-swap.js';
import { openTransport } from '../transports.js';

export interface RestoreOptions extends ConfirmPolicy, RestoreLockOptions {
  from?: string | undefined;
  latest?: boolean | undefined;
  /** Restore into this database instead of the one the backup came from. */
  targetDb?: string | undefined;
  /** Apply the backup's globals (roles, tablespaces) first; existing ones are kept. */
  withGlobals?: boolean | undefined;
  /** With withGlobals: re-apply the backup's definitions to roles that exist (not to the connecting role). */
  overwriteRoles?: boolean | undefined;
  /** Keep the replaced database under a side name instead of dropping it. */
  keepOld?: boolean | undefined;
  jobs?: number | undefined;
  noOwner?: boolean | undefined;
  tmpDir?: string | undefined;
  /** Only pick latest backups of this source database. */
  database?: string | undefined;
  archive?: ArchiveOptions | undefined;
}

export interface RestoreResult {
  env: string;
  engine: 'postgres';
  key: string;
  sourceDatabase: string;
  targetDatabase: string;
  bytes: number;
  sha256: string;
  replacedExisting: boolean;
  keptOldAs?: string | undefined;
  /** With --with-globals: roles and tablespaces created, kept and overwritten. */
  globals?: GlobalsOutcome | undefined;
  durationMs: number;
}

/** Restores into the env's server, the env resolved once by the caller (a drill passes one that points elsewhere). */
export async function restorePostgres(ctx: AppContext, h: EnvHandle, opts: RestoreOptions): Promise<RestoreResult> {
  const t0 = performance.now();
  const cfg = postgresSection(ctx, h);
  checkJobs(opts.jobs, cfg.transport.type);
  const entry = await resolveBackup(ctx, h, 'postgres', opts);
  const m = entry.manifest;
  // A --target-db PostgreSQL would cut is refused; a backup's own (configured) name is used as the server used it.
  const target = opts.targetDb ?? serverName(m.target.database);
  checkTargetName(target, cfg.maintenanceDatabase, h.name, opts.targetDb !== undefined);
  await requireConfirmation(h.name, h.env.protected, `restore ${entry.key} into database "${target}"`, opts);
  // One restore per target database at a time: taken before anything is downloaded or touched.
  return withRestoreLock(ctx, h, 'postgres', target, opts, async () => {
    await ensureBackupReadable(ctx, h.store, entry.manifest, opts.archive);
    const conn = await pgConnection(ctx, h, cfg);
    const transport = await openTransport(ctx, cfg.transport, `envs.${h.name}.postgres`);
    try {
      return await restoreWith(ctx, { h, cfg, opts, entry, target, conn, transport, t0 });
    } finally {
      await transport.close();
    }
  });
}

interface RestoreInput {
  h: EnvHandle;
  cfg: ReturnType<typeof postgresSection>;
  opts: RestoreOptions;
  entry: Awaited<ReturnType<typeof resolveBackup>>;
  target: string;
  conn: pg.PgConnection;
  transport: Transport;
  t0: number;
}

/** The checks that only read (client, privileges, connections, temp space), then the download and the swap. */
async function restoreWith(ctx: AppContext, r: RestoreInput): Promise<RestoreResult> {
  const { h, cfg, opts, entry, target, conn, transport, t0 } = r;
  const m = entry.manifest;
  const { admin, jobs, facts, needs, space } = await preflight(ctx, r);
  const ws = await makeWorkspace(opts.tmpDir);
  try {
    const plan = opts.withGlobals
      ? await prepareGlobals(ctx, h, m, {
          key: entry.key,
          dir: ws.dir,
          facts,
          overwriteRoles: opts.overwriteRoles ?? false,
        })
      : undefined;
    const rolesRefused =
      plan && restoreShortcomings(facts, { ...needs, rolesToChange: plan.created.length + plan.overwritten.length });
    if (rolesRefused) throw rolesRefused;
    const { dumpPath, plain } = await downloadDump(ctx, h, m, { dir: ws.dir, jobs, space });
    // Everything is verified: only now is the server changed.
    const globals = plan ? await applyGlobals(ctx, transport, conn, cfg.maintenanceDatabase, plan) : undefined;
    const swap = await restoreAndSwap(ctx, {
      transport,
      conn,
      admin,
      m,
      dumpPath,
      plain,
      jobs,
      settings: cfg.restoreSettings,
      target,
      opts,
    });
    const dump = mainArtifact(m);
    return {
      env: h.name,
      engine: 'postgres',
      key: entry.key,
      sourceDatabase: m.target.database,
      targetDatabase: target,
      bytes: dump.bytes,
      sha256: dump.sha256,
      replacedExisting: swap.replaced,
      keptOldAs: swap.keptOldAs,
      ...(globals ? { globals } : {}),
      durationMs: Math.round(performance.now() - t0),
    };
  } finally {
    await ws.cleanup();
  }
}

/** Preflight, reading only: pg_restore present, privileges, connections and space before any download or change. */
async function preflight(ctx: AppContext, r: RestoreInput) {
  const { cfg, opts, entry, target, conn, transport } = r;
  const m = entry.manifest;
  const version = await capture(transport, pg.versionCommand(conn, 'pg_restore'));
  if (!succeeded(version)) {
    throw new ProcessFailedError('pg_restore', version, {
      hint: 'install the PostgreSQL client or set postgres.binDir',
    });
  }
  const admin = (sqlText: string): Promise<string> =>
    captureOk(transport, pg.psqlCommand(conn, cfg.maintenanceDatabase), sqlText);
  const jobs = restoreJobs(opts.jobs ?? cfg.restoreJobs, transport);
  ctx.reporter.step('checking privileges, connections and temp space');
  const facts = parseRestoreFacts(await admin(pg.sql.restoreFacts(target)));
  refuseOldClient(pg.parseToolVersion(version.stdout), facts.serverVersionNum, m.tools['pg_dump'], r);
  const needs = { target, connections: jobs, rolesToChange: 0 };
  const refused = restoreShortcomings(facts, needs);
  if (refused) throw refused;
  const globalsBytes = opts.withGlobals ? (m.artifacts.find((a) => a.role === 'globals')?.rawBytes ?? 0) : 0;
  const space = dumpSpace(m, jobs, opts.tmpDir, globalsBytes);
  const short = spaceShortage(await freeBytes(opts.tmpDir), space);
  if (short) throw short;
  return { admin, jobs, facts, needs, space };
}

/**
 * What the dump needs in the temp dir: as stored for one job, decompressed for parallel jobs (a seekable file); plus
 * the decompressed globals beside it (`extraBytes`).
 */
function dumpSpace(m: Manifest, jobs: number, base: string | undefined, extraBytes: number): Omit<SpaceNeed, 'dir'> {
  const dump = mainArtifact(m);
  const plain = jobs > 1;
  return {
    base,
    neededBytes: (plain ? dump.rawBytes : dump.bytes) + extraBytes,
    what: plain
      ? `the decompressed archive (pg_restore --jobs ${jobs} reads a seekable file)`
      : 'the artifact as stored',
    alternatives: plain
      ? [
          `restore with --jobs 1 (or restoreJobs: 1): the artifact then stays compressed in the temp dir (${formatBytes(dump.bytes)}) and is streamed into pg_restore`,
        ]
      : [],
  };
}

/**
 * Downloads the dump into the workspace while checking size and sha256: as stored for one job (streamed into
 * pg_restore later), decompressed in the same pass for parallel jobs (pg_restore --jobs needs a seekable archive).
 */
async function downloadDump(
  ctx: AppContext,
  h: EnvHandle,
  m: Manifest,
  w: { dir: string; jobs: number; space: Omit<SpaceNeed, 'dir'> },
): Promise<{ dumpPath: string; plain: boolean }> {
  const dump = mainArtifact(m);
  const plain = w.jobs > 1;
  const dumpPath = join(w.dir, plain ? 'dump.plain' : 'dump');
  ctx.reporter.step(
    `downloading ${dump.key} and checking its sha256${plain ? ' (decompressing for a parallel restore)' : ''}`,
  );
  await downloadVerified(h.store, dump.key, dumpPath, dump, {
    onBytes: (b) => ctx.reporter.progress(b, dump.bytes),
    signal: ctx.signal,
    ...(plain ? { decompress: decompressStage(m.compression, ctx.runner) } : {}),
  }).catch(async (err: unknown) => {
    throw await explainNoSpace(err, { ...w.space, dir: w.dir });
  });
  return { dumpPath, plain };
}

/**
 * pg_restore must be at least as new as the server it restores into and as the pg_dump that made the backup (an older
 * pg_restore cannot read a newer archive format): exit 2 naming the package, before anything is downloaded.
 */
function refuseOldClient(pgRestore: string, serverNum: number, dumpedBy: string | undefined, r: RestoreInput): void {
  const where = { host: r.transport.host, server: `${r.conn.host}:${r.conn.port}` };
  const old = clientTooOld('pg_restore', pgRestore, serverNum, where);
  if (old) throw new ConfigError(old.problem, [], { hint: old.hint });
  const newer = archiveTooNew(pgRestore, dumpedBy, where.host);
  if (newer) throw new ConfigError(newer.problem, [], { hint: newer.hint });
}
