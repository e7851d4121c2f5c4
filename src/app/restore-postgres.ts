// Use case: restore a PostgreSQL backup: verify the artifact first, restore into a scratch database, then swap it in.

import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { ConfigError, IntegrityError, ProcessFailedError } from '../domain/errors.js';
import { keyTimestamp } from '../domain/keys.js';
import { LIMITS } from '../domain/limits.js';
import { mainArtifact, type Manifest } from '../domain/manifest.js';
import { formatBytes } from '../domain/human.js';
import * as pg from '../engines/postgres.js';
import { decompressStage } from '../pipeline/compress.js';
import { downloadVerified, feedFile, makeWorkspace } from '../pipeline/restore-stream.js';
import { capture, captureOk } from '../transports/run.js';
import { succeeded, type Transport } from '../transports/transport.js';
import { ensureBackupReadable, type ArchiveOptions } from './archive.js';
import { resolveBackup } from './catalog.js';
import { requireConfirmation, type ConfirmPolicy } from './confirm.js';
import { withRestoreLock, type RestoreLockOptions } from './lock.js';
import { explainNoSpace } from './disk-space.js';
import { pgConnection, postgresSection, selectEnv, type AppContext, type EnvHandle } from './context.js';
import { openTransport } from './transports.js';

export interface RestoreOptions extends ConfirmPolicy, RestoreLockOptions {
  env: string;
  from?: string | undefined;
  latest?: boolean | undefined;
  /** Restore into this database instead of the one the backup came from. */
  targetDb?: string | undefined;
  /** Apply the backup's globals (roles) first. */
  withGlobals?: boolean | undefined;
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
  durationMs: number;
}

export async function restorePostgres(ctx: AppContext, opts: RestoreOptions): Promise<RestoreResult> {
  const t0 = performance.now();
  const h = selectEnv(ctx, opts.env);
  const cfg = postgresSection(ctx, h);
  checkJobs(opts.jobs, cfg.transport.type);
  const entry = await resolveBackup(ctx, h, 'postgres', opts);
  const m = entry.manifest;
  const target = opts.targetDb ?? m.target.database;
  await requireConfirmation(h.name, h.env.protected, `restore ${entry.key} into database "${target}"`, opts);
  await ensureBackupReadable(ctx, h.store, entry.manifest, opts.archive);
  const conn = await pgConnection(ctx, h, cfg);
  const transport = await openTransport(ctx, cfg.transport, `envs.${h.name}.postgres`);
  try {
    return await restoreWith(ctx, { h, cfg, opts, entry, target, conn, transport, t0 });
  } finally {
    await transport.close();
  }
}

interface RestoreInput {
  h: ReturnType<typeof selectEnv>;
  cfg: ReturnType<typeof postgresSection>;
  opts: RestoreOptions;
  entry: Awaited<ReturnType<typeof resolveBackup>>;
  target: string;
  conn: pg.PgConnection;
  transport: Transport;
  t0: number;
}

async function restoreWith(ctx: AppContext, r: RestoreInput): Promise<RestoreResult> {
  const { h, cfg, opts, entry, target, conn, transport, t0 } = r;
  const m = entry.manifest;
  const version = await capture(transport, pg.versionCommand(conn, 'pg_restore'));
  if (!succeeded(version)) {
    throw new ProcessFailedError('pg_restore', version, { hint: 'install the PostgreSQL client or set postgres.binDir' });
  }
  const admin = (sqlText: string): Promise<string> =>
    captureOk(transport, pg.psqlCommand(conn, cfg.maintenanceDatabase), sqlText);
  await admin('SELECT 1;\n');

  const ws = await makeWorkspace(opts.tmpDir);
  try {
    const dump = mainArtifact(m);
    const jobs = restoreJobs(opts.jobs ?? cfg.restoreJobs, transport);
    const { dumpPath, plain } = await downloadDump(ctx, h, m, { dir: ws.dir, base: opts.tmpDir, jobs });
    const globals = m.artifacts.find((a) => a.role === 'globals');
    let globalsPath: string | undefined;
    if (opts.withGlobals) {
      if (!globals) throw new IntegrityError(`${entry.key} was taken without --globals; restore without --with-globals`);
      globalsPath = join(ws.dir, 'globals');
      ctx.reporter.step(`downloading ${globals.key} and checking its sha256`);
      await downloadVerified(h.store, globals.key, globalsPath, globals, { signal: ctx.signal });
    }
    // Everything is verified: only now is the server changed.
    if (globalsPath && globals) await applyGlobals(ctx, transport, conn, cfg.maintenanceDatabase, globalsPath, m);
    const swap = await restoreAndSwap(ctx, { transport, conn, admin, m, dumpPath, plain, jobs, settings: cfg.restoreSettings, target, opts });
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
      durationMs: Math.round(performance.now() - t0),
    };
  } finally {
    await ws.cleanup();
  }
}

/**
 * Downloads the dump into the workspace while checking size and sha256: as stored for one job (streamed into
 * pg_restore later), decompressed in the same pass for parallel jobs (pg_restore --jobs needs a seekable archive).
 */
async function downloadDump(ctx: AppContext, h: EnvHandle, m: Manifest, w: { dir: string; base: string | undefined; jobs: number }): Promise<{ dumpPath: string; plain: boolean }> {
  const dump = mainArtifact(m);
  const plain = w.jobs > 1;
  const dumpPath = join(w.dir, plain ? 'dump.plain' : 'dump');
  ctx.reporter.step(`downloading ${dump.key} and checking its sha256${plain ? ' (decompressing for a parallel restore)' : ''}`);
  await downloadVerified(h.store, dump.key, dumpPath, dump, {
    onBytes: (b) => ctx.reporter.progress(b, dump.bytes),
    signal: ctx.signal,
    ...(plain ? { decompress: decompressStage(m.compression, ctx.runner) } : {}),
  }).catch(async (err: unknown) => {
    throw await explainNoSpace(err, {
      base: w.base,
      dir: w.dir,
      neededBytes: plain ? dump.rawBytes : dump.bytes,
      what: plain ? `the decompressed archive (pg_restore --jobs ${w.jobs} reads a seekable file)` : 'the artifact as stored',
      alternatives: plain ? [`restore with --jobs 1 (or restoreJobs: 1): the artifact then stays compressed in the temp dir (${formatBytes(dump.bytes)}) and is streamed into pg_restore`] : [],
    });
  });
  return { dumpPath, plain };
}

async function applyGlobals(
  ctx: AppContext,
  transport: Transport,
  conn: pg.PgConnection,
  maintenanceDb: string,
  path: string,
  m: Manifest,
): Promise<void> {
  ctx.reporter.step('applying globals (roles, tablespaces); existing roles are reported and kept');
  const cmd = transport.start({ ...pg.psqlCommand(conn, maintenanceDb, false), stdin: 'pipe' });
  cmd.stdout.resume();
  await feedFile(path, decompressStage(m.compression, ctx.runner), cmd);
  const errors = (await cmd.done).stderrTail.split('\n').filter((l) => /ERROR/.test(l));
  for (const e of errors.slice(0, 5)) ctx.reporter.warn(`globals: ${e.trim()}`);
}

interface SwapInput {
  transport: Transport;
  conn: pg.PgConnection;
  admin: (sql: string) => Promise<string>;
  m: Manifest;
  dumpPath: string;
  /** dumpPath holds the decompressed archive (for pg_restore --jobs). */
  plain: boolean;
  jobs: number;
  /** Session settings for pg_restore (postgres.restoreSettings). */
  settings: Record<string, string>;
  target: string;
  opts: RestoreOptions;
}

async function restoreAndSwap(ctx: AppContext, s: SwapInput): Promise<{ replaced: boolean; keptOldAs?: string }> {
  const stamp = keyTimestamp(ctx.now()).replace(/\D/g, '').slice(0, 14);
  const scratch = pg.scratchName(s.target, 'restore', stamp);
  const aside = pg.scratchName(s.target, 'old', stamp);
  const settingsRow = (await s.admin(pg.sql.databaseSettings(s.target))).trim();
  const exists = settingsRow.length > 0;
  const [encoding, collate, ctype] = settingsRow.split('|');
  const settings = exists && encoding && collate && ctype ? { encoding, collate, ctype } : undefined;

  ctx.reporter.step(`restoring into scratch database ${scratch}`);
  await s.admin(pg.sql.createDatabase(scratch, settings));
  try {
    await runPgRestore(ctx, s, scratch);
    ctx.reporter.step(exists ? `swapping ${scratch} in as ${s.target} (old one set aside)` : `renaming ${scratch} to ${s.target}`);
    await s.admin(pg.sql.swap(s.target, scratch, aside, exists));
  } catch (err) {
    await s.admin(pg.sql.dropDatabase(scratch)).catch((e: unknown) =>
      ctx.reporter.warn(`could not drop scratch database ${scratch}: ${(e as Error).message}`),
    );
    throw err;
  }
  if (!exists) return { replaced: false };
  if (s.opts.keepOld) return { replaced: true, keptOldAs: aside };
  ctx.reporter.step(`dropping the replaced database (${aside})`);
  await s.admin(pg.sql.dropDatabase(aside)).catch((e: unknown) =>
    ctx.reporter.warn(`restore done, but the replaced database ${aside} could not be dropped: ${(e as Error).message}`),
  );
  return { replaced: true };
}

async function runPgRestore(ctx: AppContext, s: SwapInput, database: string): Promise<void> {
  const noOwner = s.opts.noOwner ?? false;
  if (s.plain) {
    const r = await capture(s.transport, pg.restoreCommand(s.conn, database, { jobs: s.jobs, file: s.dumpPath, noOwner, settings: s.settings }));
    if (!succeeded(r)) throw new ProcessFailedError('pg_restore', r);
    return;
  }
  const cmd = s.transport.start(pg.restoreCommand(s.conn, database, { jobs: 1, noOwner, settings: s.settings }));
  cmd.stdout.resume();
  const total = mainArtifact(s.m).bytes;
  await feedFile(s.dumpPath, decompressStage(s.m.compression, ctx.runner), cmd, (b) => ctx.reporter.progress(b, total));
}

/**
 * --jobs N > 1 needs pg_restore to read a seekable file where it runs; over SSH or Kubernetes it reads the stream on
 * its stdin, where it can use one job only. Refused before anything runs rather than silently ignored.
 */
export function checkJobs(jobs: number | undefined, transport: string): void {
  if (jobs === undefined) return;
  const { min, max } = LIMITS.restoreJobs;
  if (!Number.isInteger(jobs) || jobs < min || jobs > max) throw new ConfigError(`--jobs ${jobs}: expected a whole number from ${min} to ${max}`);
  if (jobs > 1 && transport !== 'local') {
    throw new ConfigError(`--jobs ${jobs} cannot be honoured over the ${transport} transport: there pg_restore reads the archive as a stream on its stdin, which allows one job only`, [], {
      hint: 'omit --jobs (or pass --jobs 1) to restore over the stream; for a parallel restore run igbackup on the database host with transport: local',
    });
  }
}

/** "auto" = one job per core (2..4) when pg_restore runs on this machine and can read a temp file; else streaming. */
export function restoreJobs(setting: number | 'auto', transport: Transport): number {
  if (transport.kind !== 'local') return 1;
  if (setting === 'auto') return Math.max(2, Math.min(4, availableParallelism()));
  return setting;
}
