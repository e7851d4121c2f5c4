// Use case: restore a Neo4j backup: check what it needs (nothing changed), verify it, then with Neo4j offline load the
// dump (Community) or restore the backup artifact (Enterprise), and bring Neo4j back whatever happened.

import { join } from 'node:path';
import { ConfigError, IgbackupError } from '../domain/errors.js';
import * as files from '../engines/files.js';
import * as neo4j from '../engines/neo4j.js';
import type { Neo4jConfig } from '../config/schema.js';
import { decompressStage } from '../pipeline/compress.js';
import { feedFile, makeWorkspace } from '../pipeline/restore-stream.js';
import { downloadMainArtifact } from './artifact.js';
import { capture, captureOk } from '../transports/run.js';
import { succeeded, type Transport } from '../transports/transport.js';
import { neo4jSection, neo4jTools } from './backup-neo4j.js';
import { ensureBackupReadable, type ArchiveOptions } from './archive.js';
import { resolveBackup } from './catalog.js';
import { requireConfirmation, type ConfirmPolicy } from './confirm.js';
import { withRestoreLock, type RestoreLockOptions } from './lock.js';
import { selectEnv, type AppContext } from './context.js';
import { checkWorkload, withOfflinePod, withServiceStopped } from './neo4j-offline.js';
import { openTransport } from './transports.js';

export interface Neo4jRestoreOptions extends ConfirmPolicy, RestoreLockOptions {
  env: string;
  from?: string | undefined;
  latest?: boolean | undefined;
  database?: string | undefined;
  tmpDir?: string | undefined;
  archive?: ArchiveOptions | undefined;
}

export interface Neo4jRestoreResult {
  env: string;
  engine: 'neo4j';
  key: string;
  database: string;
  bytes: number;
  sha256: string;
  checked: boolean;
  durationMs: number;
}

/** One restore (or backup) of the env's neo4j at a time: the restore stops the whole service, so it takes the engine's lock. */
export async function restoreNeo4j(ctx: AppContext, opts: Neo4jRestoreOptions): Promise<Neo4jRestoreResult> {
  return withRestoreLock(ctx, selectEnv(ctx, opts.env), 'neo4j', undefined, opts, () => restoreNeo4jLocked(ctx, opts));
}

async function restoreNeo4jLocked(ctx: AppContext, opts: Neo4jRestoreOptions): Promise<Neo4jRestoreResult> {
  const t0 = performance.now();
  const h = selectEnv(ctx, opts.env);
  const cfg = neo4jSection(ctx, h);
  const entry = await resolveBackup(ctx, h, 'neo4j', opts);
  const db = entry.manifest.target.database;
  await requireConfirmation(h.name, h.env.protected, `replace Neo4j database "${db}" with ${entry.key}`, opts);
  await ensureBackupReadable(ctx, h.store, entry.manifest, opts.archive);
  const transport = await openTransport(ctx, cfg.transport, `envs.${h.name}.neo4j`);
  const ws = await makeWorkspace(opts.tmpDir);
  try {
    const enterprise = entry.manifest.format === neo4j.BACKUP_FORMAT;
    await preflightNeo4jRestore(ctx, cfg, transport, enterprise);
    const plain = join(ws.dir, 'artifact');
    const art = await downloadMainArtifact(ctx, h.store, entry.manifest, plain);
    let checked = false;
    const apply = async (where: Transport): Promise<void> => {
      if (enterprise) await restoreBackupFile(ctx, cfg, where, db, plain);
      else {
        ctx.reporter.step(`neo4j-admin database load ${db}`);
        const loader = where.start(neo4j.loadCommand(neo4jTools(cfg), db));
        loader.stdout.resume();
        await feedFile(plain, decompressStage('none', ctx.runner), loader);
      }
      // The consistency check needs the database offline: now is the moment.
      const c = await capture(where, neo4j.checkCommand(neo4jTools(cfg), db));
      if (!succeeded(c)) throw new IgbackupError(`neo4j-admin database check found problems in the restored "${db}":\n${c.stderrTail.trim()}`);
      checked = true;
    };
    if (cfg.transport.type === 'kubernetes' && cfg.edition === 'community') {
      await withOfflinePod(ctx, cfg.transport, cfg.kubernetes as NonNullable<Neo4jConfig['kubernetes']>, apply);
    } else {
      await withServiceStopped(ctx, transport, cfg.service, () => apply(transport));
    }
    return { env: h.name, engine: 'neo4j', key: entry.key, database: db, bytes: art.bytes, sha256: art.sha256, checked, durationMs: Math.round(performance.now() - t0) };
  } finally {
    await ws.cleanup();
    await transport.close();
  }
}

/** Enterprise: put the artifact on the host, `database restore --overwrite-destination=true`, remove it. */
async function restoreBackupFile(ctx: AppContext, cfg: Neo4jConfig, where: Transport, db: string, plain: string): Promise<void> {
  const dir = `${cfg.enterprise.workDir.replace(/\/+$/, '')}/igbackup-restore-${Date.now()}`;
  const file = `${dir}/${db}${neo4j.BACKUP_EXTENSION}`;
  await captureOk(where, neo4j.makeDirCommand(dir));
  try {
    const writer = where.start(files.placeFileCommand(file));
    writer.stdout.resume();
    await feedFile(plain, decompressStage('none', ctx.runner), writer);
    ctx.reporter.step(`neo4j-admin database restore ${db}`);
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
async function preflightNeo4jRestore(ctx: AppContext, cfg: Neo4jConfig, transport: Transport, enterprise: boolean): Promise<void> {
  ctx.reporter.step(`checking what the restore needs on ${transport.host} (nothing is changed)`);
  const inPod = cfg.transport.type === 'kubernetes' && cfg.edition === 'community';
  const checks = neo4j.restorePathChecks({
    admin: cfg.neo4jAdmin,
    service: inPod ? undefined : cfg.service,
    workDir: enterprise ? cfg.enterprise.workDir : undefined,
  });
  const problems = files.pathProblems(checks, await captureOk(transport, files.pathChecksCommand(checks)), transport.host);
  if (inPod && cfg.transport.type === 'kubernetes') {
    problems.push(...(await checkWorkload(ctx, cfg.transport, cfg.kubernetes as NonNullable<Neo4jConfig['kubernetes']>)));
  }
  if (problems.length) {
    throw new ConfigError(`the restore cannot run on ${transport.host}: ${problems.length} problem(s), nothing was changed and nothing downloaded`, problems, {
      hint: 'fix each problem listed (each says how), then run the restore again; Neo4j keeps running untouched',
    });
  }
}
