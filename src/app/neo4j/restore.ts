// Use case: restore a Neo4j backup: check what it needs (nothing changed, temp space included), verify it, then with
// Neo4j offline keep a copy of the current database, load the dump (Community) or restore the backup artifact
// (Enterprise), check it — the copy loaded back on any failure or cancel — and leave Neo4j in the state it was found in.

import { dirname, join } from 'node:path';
import { ConfigError } from '../../domain/errors.js';
import { formatBytes } from '../../domain/human.js';
import { mainArtifact } from '../../domain/manifest.js';
import * as files from '../../engines/files.js';
import * as neo4j from '../../engines/neo4j/commands.js';
import type { Neo4jConfig } from '../../config/schema.js';
import { decompressStage } from '../../pipeline/compress.js';
import { feedFile, makeWorkspace } from '../../pipeline/restore-stream.js';
import { downloadMainArtifact } from '../artifact.js';
import { capture, captureOk } from '../../transports/run.js';
import type { Transport } from '../../transports/transport.js';
import { neo4jTools } from '../../engines/neo4j/backup.js';
import { sectionOf } from '../engine-section.js';
import { freeBytes, spaceShortage, type SpaceNeed } from '../disk-space.js';
import { replaceDatabase } from './replace.js';
import { checkStoreVersion, removeAside, replaceStore, withAsideNote } from './replace-store.js';
import { ensureBackupReadable, type ArchiveOptions } from '../archive.js';
import type { CatalogEntry } from '../catalog.js';
import { chainFor, downloadChain, recoveryPoint, restoreBackupChain } from './chain.js';
import { requireConfirmation, type ConfirmPolicy } from '../confirm.js';
import { withRestoreLock, type RestoreLockOptions } from '../lock.js';
import type { AppContext, EnvHandle } from '../context.js';
import { withServiceStopped, type OfflineWindow } from './offline.js';
import { checkWorkload, withOfflinePod } from './offline-pod.js';
import { openTransport } from '../transports.js';

export interface Neo4jRestoreOptions extends ConfirmPolicy, RestoreLockOptions {
  from?: string | undefined;
  latest?: boolean | undefined;
  database?: string | undefined;
  tmpDir?: string | undefined;
  archive?: ArchiveOptions | undefined;
  /** Enterprise: recover the backup chain up to this moment (ISO time with a zone) or transaction id. */
  to?: string | undefined;
}

export interface Neo4jRestoreResult {
  env: string;
  engine: 'neo4j';
  key: string;
  database: string;
  bytes: number;
  sha256: string;
  checked: boolean;
  /** Size of the copy of the previous database taken before the load (removed after success); absent when it did not exist. */
  previousBytes?: number | undefined;
  /** The state Neo4j is left in: the state it was found in. */
  neo4j: 'running' | 'stopped';
  durationMs: number;
  /** Enterprise: the backups restored, the full one first, when there were more than one. */
  chain?: string[] | undefined;
  /** Enterprise: what `--restore-until` was given (--to). */
  until?: string | undefined;
}

/** One restore (or backup) of the env's neo4j at a time: the restore stops the whole service, so it takes the engine's lock. */
export async function restoreNeo4j(
  ctx: AppContext,
  h: EnvHandle,
  opts: Neo4jRestoreOptions,
): Promise<Neo4jRestoreResult> {
  return withRestoreLock(ctx, h, 'neo4j', undefined, opts, () => restoreNeo4jLocked(ctx, h, opts));
}

async function restoreNeo4jLocked(
  ctx: AppContext,
  h: EnvHandle,
  opts: Neo4jRestoreOptions,
): Promise<Neo4jRestoreResult> {
  const t0 = performance.now();
  const cfg = sectionOf(ctx, h, 'neo4j');
  const point = opts.to === undefined ? undefined : recoveryPoint(opts.to, ctx.now());
  const { entry, chain } = await chainFor(ctx, h, opts, point);
  const db = entry.manifest.target.database;
  const what = `${entry.key}${chain.length > 1 ? ` (a chain of ${chain.length} backups)` : ''}${point ? ` up to ${point.until}` : ''}`;
  await requireConfirmation(h.name, h.env.protected, `replace Neo4j database "${db}" with ${what}`, opts);
  for (const link of chain) await ensureBackupReadable(ctx, h.store, link.manifest, opts.archive);
  const transport = await openTransport(ctx, cfg.transport, `envs.${h.name}.neo4j`);
  try {
    const enterprise = entry.manifest.format === neo4j.BACKUP_FORMAT;
    const tar = entry.manifest.format === neo4j.TAR_FORMAT;
    await preflightNeo4jRestore(ctx, cfg, transport, enterprise);
    if (tar) await checkStoreVersion(cfg, transport, entry.manifest, entry.key);
    const space = tar ? archiveSpace(entry, opts.tmpDir) : copySpace(chain, opts.tmpDir);
    const short = spaceShortage(await freeBytes(opts.tmpDir), space);
    if (short) throw short;
    const x = { cfg, transport, entry, chain, until: point?.until, enterprise, space };
    const { art, r } = await downloadAndReplace(ctx, h, x, opts.tmpDir);
    if (r.w.foundStopped)
      ctx.reporter.warn(
        `Neo4j was not running before the restore and is left stopped (start it with: ${r.w.howToStart})`,
      );
    const previous = r.previousBytes !== undefined ? { previousBytes: r.previousBytes } : {};
    const state = r.w.foundStopped ? 'stopped' : 'running';
    return {
      env: h.name,
      engine: 'neo4j',
      key: entry.key,
      database: db,
      bytes: art.bytes,
      sha256: art.sha256,
      checked: r.checked,
      ...previous,
      neo4j: state,
      durationMs: Math.round(performance.now() - t0),
      ...(chain.length > 1 ? { chain: chain.map((c) => c.key) } : {}),
      ...(point ? { until: point.until } : {}),
    };
  } finally {
    await transport.close();
  }
}

/** What the replacement works on: the env's section, its transport, the backup, its format, the space it needs. */
interface Replacement {
  cfg: Neo4jConfig;
  transport: Transport;
  entry: CatalogEntry;
  /** The backups to restore, oldest first: the full one, the differential ones on it, `entry` last. */
  chain: CatalogEntry[];
  /** --restore-until (Enterprise). */
  until: string | undefined;
  enterprise: boolean;
  space: Omit<SpaceNeed, 'dir'>;
}

/**
 * Downloads the backup into a workspace, then replaces the database with it in an offline window (a helper pod on
 * the PVC for Community in Kubernetes, else the stopped service); the workspace is removed afterwards.
 */
async function downloadAndReplace(ctx: AppContext, h: EnvHandle, x: Replacement, tmpDir: string | undefined) {
  const { cfg, transport, entry, enterprise } = x;
  const db = entry.manifest.target.database;
  const ws = await makeWorkspace(tmpDir);
  try {
    const plain = join(ws.dir, 'artifact');
    const chained = enterprise && (x.chain.length > 1 || x.until !== undefined);
    const links = chained ? await downloadChain(ctx, h, x.chain, ws.dir) : [];
    const art = chained
      ? mainArtifact(entry.manifest)
      : await downloadMainArtifact(ctx, h.store, entry.manifest, plain);
    if (entry.manifest.format === neo4j.TAR_FORMAT)
      return { art, r: await replaceStoreFrom(ctx, x, plain, art.rawBytes) };
    const apply = (at: Transport): Promise<void> =>
      chained
        ? restoreBackupChain(ctx, cfg, at, db, links, x.until)
        : enterprise
          ? restoreBackupFile(ctx, cfg, at, db, plain)
          : loadFile(ctx, cfg, at, db, plain);
    const inWindow = (where: Transport, w: OfflineWindow) =>
      replaceDatabase(ctx, {
        cfg,
        where,
        w,
        db,
        dir: ws.dir,
        keepDir: dirname(ws.dir),
        space: x.space,
        applyName: enterprise ? `neo4j-admin database restore ${db}` : `neo4j-admin database load ${db}`,
        apply,
      }).then((r) => ({ ...r, w }));
    const pod = cfg.transport.type === 'kubernetes' && cfg.edition === 'community' ? cfg.kubernetes : undefined;
    return { art, r: await offline(ctx, cfg, transport, pod, inWindow) };
  } finally {
    await ws.cleanup();
  }
}

/** Neo4j offline around fn: a helper pod on the PVC (`pod`, in Kubernetes), else the stopped service. */
function offline<T>(
  ctx: AppContext,
  cfg: Neo4jConfig,
  transport: Transport,
  pod: Neo4jConfig['kubernetes'],
  fn: (where: Transport, w: OfflineWindow) => Promise<T>,
): Promise<T> {
  return pod && cfg.transport.type === 'kubernetes'
    ? withOfflinePod(ctx, cfg.transport, pod, fn)
    : withServiceStopped(ctx, transport, cfg.service, (w) => fn(transport, w));
}

/**
 * A tar backup: the data directory replaced in the offline window (replace-store.ts); the previous entries removed
 * once Neo4j is back on the restored data, else named in the error with the command that puts them back.
 */
async function replaceStoreFrom(ctx: AppContext, x: Replacement, file: string, rawBytes: number) {
  const { cfg, transport, entry } = x;
  const pod = cfg.transport.type === 'kubernetes' ? cfg.kubernetes : undefined;
  const dataDir = pod ? pod.mountPath : cfg.dataDir;
  const input = { cfg, file, rawBytes, dataDir, databases: neo4j.storeDatabases(entry.manifest) };
  let placed: { aside: string; runThere: (argv: string[]) => string } | undefined;
  try {
    const r = await offline(ctx, cfg, transport, pod, async (where, w) => {
      const done = await replaceStore(ctx, { ...input, where, w });
      placed = { aside: done.aside, runThere: w.runThere };
      return { ...done, previousBytes: undefined, w };
    });
    // Neo4j is back on the restored data (or left stopped, as found): only now do the previous entries go. In
    // Kubernetes through the running pod, which mounts the same volume (at the helper's mount path, as the chart does).
    await removeAside(ctx, transport, r.asidePath);
    return r;
  } catch (err) {
    throw placed ? withAsideNote(err, dataDir, placed.aside, placed.runThere) : err;
  }
}

/**
 * Temp space, checked before the download: the decompressed backup plus the copy of the current database. That copy's
 * size cannot be known before Neo4j is stopped (the store's directory is in neo4j.conf, which igbackup does not read):
 * it is estimated at the backup's size, and a copy that does not fit fails before anything is loaded.
 */
function copySpace(chain: CatalogEntry[], base: string | undefined): Omit<SpaceNeed, 'dir'> {
  const raw = chain.reduce((n, c) => n + mainArtifact(c.manifest).rawBytes, 0);
  return {
    base,
    neededBytes: raw + mainArtifact((chain.at(-1) as CatalogEntry).manifest).rawBytes,
    what: `the decompressed backup (${formatBytes(raw)}) and a copy of the current database taken before it is replaced (its size is unknown until it is dumped; estimated at the backup's size)`,
    alternatives: [],
  };
}

/** Temp space for a tar restore: the decompressed archive (the current data stays on its host, moved aside). */
function archiveSpace(entry: CatalogEntry, base: string | undefined): Omit<SpaceNeed, 'dir'> {
  const raw = mainArtifact(entry.manifest).rawBytes;
  return { base, neededBytes: raw, what: `the decompressed archive (${formatBytes(raw)})`, alternatives: [] };
}

/** Community: `database load --from-stdin --overwrite-destination=true` fed from the verified file. */
async function loadFile(ctx: AppContext, cfg: Neo4jConfig, where: Transport, db: string, plain: string): Promise<void> {
  const loader = where.start(neo4j.loadCommand(neo4jTools(cfg), db));
  loader.stdout.resume();
  await feedFile(plain, decompressStage('none', ctx.runner), loader);
}

/** Enterprise: put the artifact on the host, `database restore --overwrite-destination=true`, remove it. */
async function restoreBackupFile(
  ctx: AppContext,
  cfg: Neo4jConfig,
  where: Transport,
  db: string,
  plain: string,
): Promise<void> {
  const dir = `${cfg.enterprise.workDir.replace(/\/+$/, '')}/igbackup-restore-${Date.now()}`;
  const file = `${dir}/${db}${neo4j.BACKUP_EXTENSION}`;
  await captureOk(where, neo4j.makeDirCommand(dir));
  try {
    const writer = where.start(files.placeFileCommand(file));
    writer.stdout.resume();
    await feedFile(plain, decompressStage('none', ctx.runner), writer);
    await captureOk(where, neo4j.restoreCommand(neo4jTools(cfg), db, file));
  } finally {
    await capture(where, neo4j.removeDirCommand(dir));
  }
}

/**
 * Before the download and any stop, read-only: the service control commands and neo4j-admin where they will run
 * (in Kubernetes Community: neo4j-admin in the running pod, whose image the helper pod uses, and the StatefulSet and
 * PVC), Enterprise's work directory. Throws a ConfigError listing every problem.
 */
async function preflightNeo4jRestore(
  ctx: AppContext,
  cfg: Neo4jConfig,
  transport: Transport,
  enterprise: boolean,
): Promise<void> {
  ctx.reporter.step(`checking what the restore needs on ${transport.host} (nothing is changed)`);
  const inPod = cfg.transport.type === 'kubernetes' && cfg.edition === 'community';
  const checks = neo4j.restorePathChecks({
    admin: cfg.neo4jAdmin,
    service: inPod ? undefined : cfg.service,
    workDir: enterprise ? cfg.enterprise.workDir : undefined,
  });
  const problems = files.pathProblems(
    checks,
    await captureOk(transport, files.pathChecksCommand(checks)),
    transport.host,
  );
  if (inPod && cfg.transport.type === 'kubernetes') {
    problems.push(
      ...(await checkWorkload(ctx, cfg.transport, cfg.kubernetes as NonNullable<Neo4jConfig['kubernetes']>)),
    );
  }
  if (problems.length) {
    throw new ConfigError(
      `the restore cannot run on ${transport.host}: ${problems.length} problem(s), nothing was changed and nothing downloaded`,
      problems,
      {
        hint: 'fix each problem listed (each says how), then run the restore again; Neo4j keeps running untouched',
      },
    );
  }
}
