// Use case: back up Neo4j databases: Community offline (service stopped, or a helper pod in Kubernetes) with
// `neo4j-admin database dump --to-stdout`; Enterprise online with `database backup`, then the artifact streamed.

import { compressionExtension, type Compression } from '../domain/compression.js';
import { ConfigError, IgbackupError, ProcessFailedError, ServiceDownError, messageOf } from '../domain/errors.js';
import { artifactKey } from '../domain/keys.js';
import type { ManifestArtifact } from '../domain/manifest.js';
import * as neo4j from '../engines/neo4j/commands.js';
import type { Neo4jConfig } from '../config/schema.js';
import { capture, captureOk } from '../transports/run.js';
import { succeeded, type CommandSpec, type Transport } from '../transports/transport.js';
import { removeArtifacts, uploadArtifact } from './artifact.js';
import { forEachDatabase, runnerTools, writeManifest, type BackupOutcome } from './backup-common.js';
import type { BackupResult } from './backup-postgres.js';
import type { AppContext, EnvHandle } from './context.js';
import { withOfflinePod, withServiceStopped } from './neo4j-offline.js';
import { openTransport, producerIdleMs } from './transports.js';

export function neo4jSection(ctx: AppContext, h: EnvHandle): Neo4jConfig {
  const n = h.env.neo4j;
  if (!n) {
    throw new ConfigError(`env "${h.name}" has no neo4j section in ${ctx.configFile}`, [], {
      hint: `add envs.${h.name}.neo4j (see config.example.yaml)`,
    });
  }
  if (n.transport.type === 'kubernetes' && n.edition === 'community' && !n.kubernetes) {
    throw new ConfigError(`envs.${h.name}.neo4j.kubernetes is needed for Community in Kubernetes`, [], {
      hint: 'set statefulSet, pvc and image: the dump runs offline in a helper pod that mounts the data PVC',
    });
  }
  return n;
}

export function neo4jTools(cfg: Neo4jConfig): neo4j.Neo4jTools {
  return { admin: cfg.neo4jAdmin, syntax: cfg.syntax };
}

export async function backupNeo4j(
  ctx: AppContext,
  h: EnvHandle,
  opts: { compression?: Compression | undefined; database?: string | undefined },
): Promise<BackupOutcome<BackupResult>> {
  const cfg = neo4jSection(ctx, h);
  if (opts.database !== undefined && !cfg.databases.includes(opts.database)) {
    throw new ConfigError(`database "${opts.database}" is not configured for env "${h.name}"`, [], {
      hint: `use one of: ${cfg.databases.join(', ')}`,
    });
  }
  const compression = opts.compression ?? cfg.compression;
  const tools = await runnerTools(ctx, compression);
  const databases = opts.database ? [opts.database] : cfg.databases;
  const transport = await openTransport(ctx, cfg.transport, `envs.${h.name}.neo4j`);
  try {
    if (cfg.edition === 'enterprise') {
      return await forEachDatabase(ctx, 'neo4j', databases, (db) =>
        onlineBackup(ctx, h, cfg, transport, db, compression, tools),
      );
    }
    let done: BackupOutcome<BackupResult> | undefined;
    const dumpAll = async (where: Transport): Promise<BackupOutcome<BackupResult>> => {
      const v = await capture(where, neo4j.versionCommand(neo4jTools(cfg)));
      if (succeeded(v)) tools['neo4j-admin'] = v.stdout.trim().split('\n')[0] ?? '';
      done = await forEachDatabase(ctx, 'neo4j', databases, (db) =>
        streamBackup(
          ctx,
          h,
          cfg,
          where,
          db,
          compression,
          tools,
          neo4j.dumpCommand(neo4jTools(cfg), db),
          neo4j.DUMP_FORMAT,
          neo4j.DUMP_EXTENSION,
        ),
      );
      // Nothing stored: fail inside the offline window, so the recovery (Neo4j started again) is part of the message.
      if (!done.results.length && done.failures[0]) throw done.failures[0].error;
      return done;
    };
    try {
      if (cfg.transport.type === 'kubernetes') {
        return await withOfflinePod(
          ctx,
          cfg.transport,
          cfg.kubernetes as NonNullable<Neo4jConfig['kubernetes']>,
          dumpAll,
        );
      }
      return await withServiceStopped(ctx, transport, cfg.service, () => dumpAll(transport));
    } catch (err) {
      throw storedButNotRestarted(err, done);
    }
  } finally {
    await transport.close();
  }
}

/** A failure after the dumps (Neo4j not started again): the message must say which backups were stored complete. */
function storedButNotRestarted(err: unknown, done: BackupOutcome<BackupResult> | undefined): unknown {
  if (!done?.results.length) return err;
  const stored = done.results.map((r) => `  ${r.database}: ${r.key} (complete, manifest written)`).join('\n');
  if (err instanceof ServiceDownError) {
    // Neo4j is down: that stays the error (exit 69, its first line); the stored backups are added below it.
    err.message = `${err.message}\nThe backup itself succeeded and is stored:\n${stored}`;
    return err;
  }
  const hint = err instanceof IgbackupError && err.hint ? `${err.hint}; ` : '';
  return new IgbackupError(`${messageOf(err)}\nThe backup itself succeeded and is stored:\n${stored}`, {
    cause: err,
    hint: `${hint}the stored backups are usable (igbackup list neo4j --env ENV)`,
  });
}

async function streamBackup(
  ctx: AppContext,
  h: EnvHandle,
  cfg: Neo4jConfig,
  transport: Transport,
  db: string,
  compression: Compression,
  tools: Record<string, string>,
  command: CommandSpec,
  format: string,
  extension: string,
): Promise<BackupResult> {
  const started = ctx.now();
  const t0 = performance.now();
  const key = artifactKey({
    storePrefix: h.store.prefix,
    env: h.name,
    engine: 'neo4j',
    name: db,
    startedAt: started,
    extension: `${extension}${compressionExtension(compression)}`,
  });
  const artifacts: ManifestArtifact[] = [];
  try {
    ctx.reporter.step(`streaming ${db} (${format}) to ${h.store.description}/${key}`);
    artifacts.push(
      await uploadArtifact(ctx, h.store, {
        role: 'dump',
        key,
        command,
        transport,
        compression,
        zstd: { level: cfg.zstdLevel, threads: cfg.zstdThreads },
        idleTimeoutMs: producerIdleMs(cfg.transport),
        producerHint: `check neo4j-admin on ${transport.host} and that database "${db}" exists`,
      }),
    );
    const durationMs = Math.round(performance.now() - t0);
    const { manifestKey } = await writeManifest(ctx, h, {
      engine: 'neo4j',
      database: db,
      transport,
      address: transport.host,
      format,
      compression,
      artifacts,
      tools: { ...tools, edition: cfg.edition, syntax: cfg.syntax },
      started,
      durationMs,
    });
    const a = artifacts[0] as ManifestArtifact;
    return {
      env: h.name,
      engine: 'neo4j',
      database: db,
      key,
      manifestKey,
      bytes: a.bytes,
      rawBytes: a.rawBytes,
      sha256: a.sha256,
      durationMs,
      artifacts,
    };
  } catch (err) {
    throw await removeArtifacts(ctx, h.store, artifacts, err);
  }
}

/** Enterprise: `database backup` into a scratch dir on the host, stream the newest artifact, remove the dir. */
async function onlineBackup(
  ctx: AppContext,
  h: EnvHandle,
  cfg: Neo4jConfig,
  transport: Transport,
  db: string,
  compression: Compression,
  tools: Record<string, string>,
): Promise<BackupResult> {
  const t = neo4jTools(cfg);
  const dir = `${cfg.enterprise.workDir.replace(/\/+$/, '')}/igbackup-${db}-${Date.now()}`;
  await captureOk(transport, neo4j.makeDirCommand(dir));
  try {
    ctx.reporter.step(`neo4j-admin database backup ${db} (online)`);
    const r = await capture(transport, neo4j.backupCommand(t, db, dir, cfg.enterprise.from));
    if (!succeeded(r)) throw new ProcessFailedError('neo4j-admin database backup', r);
    const file = (await captureOk(transport, neo4j.newestBackupCommand(dir, db))).trim();
    if (!file) throw new IgbackupError(`neo4j-admin database backup wrote no ${db}-*.backup into ${dir}`);
    return await streamBackup(
      ctx,
      h,
      cfg,
      transport,
      db,
      compression,
      tools,
      { argv: ['cat', file] },
      neo4j.BACKUP_FORMAT,
      neo4j.BACKUP_EXTENSION,
    );
  } finally {
    await capture(transport, neo4j.removeDirCommand(dir));
  }
}
