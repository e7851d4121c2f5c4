// Use case entry for `backup`, for every engine: one run per engine and env at a time (lease lock), the engine's plan
// (engines/<name>/backup.ts) carried out unit by unit: each artifact streamed and checked, the manifest written last.

import type { Compression } from '../domain/compression.js';
import { compressionExtension } from '../domain/compression.js';
import { ConfigError } from '../domain/errors.js';
import { artifactKey } from '../domain/keys.js';
import type { ManifestArtifact } from '../domain/manifest.js';
import type { ArtifactPlan, BackupPlan, Facts } from '../engines/backup-plan.js';
import type { Engine } from '../engines/engine.js';
import { engineNamed } from '../engines/registry.js';
import { capture } from '../transports/run.js';
import type { CommandSpec, Transport } from '../transports/transport.js';
import { removeArtifacts, uploadArtifact } from './artifact.js';
import { readCatalog } from './catalog.js';
import { forEachDatabase, runnerTools, writeManifest, type BackupOutcome } from './backup-common.js';
import { withBackupWindow } from './backup-window.js';
import { runSteps } from './backup-steps.js';
import { selectEnv, type AppContext, type EnvHandle } from './context.js';
import { engineSection, resolvePassword, type AnySection } from './engine-section.js';
import { withLock } from './lock.js';
import { publishMetrics } from './metrics.js';
import { scratchStamp } from './scratch.js';
import { statusOf } from './status.js';
import { openTransport, producerIdleMs } from './transports.js';

export interface RunBackupOptions {
  env: string;
  engine: string;
  database?: string | undefined;
  compression?: Compression | undefined;
  globals?: boolean | undefined;
  mode?: 'rdb-stream' | 'bgsave' | undefined;
  /** Neo4j Community: dump or tar (default: neo4j.method). */
  method?: 'dump' | 'tar' | undefined;
  forceUnlock?: boolean | undefined;
  /** Neo4j Enterprise: full, diff or auto. */
  type?: string | undefined;
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

/** Backs up every unit it can; the outcome lists what was stored and what failed (the CLI exits non-zero then). */
export async function runBackup(ctx: AppContext, o: RunBackupOptions): Promise<BackupOutcome<BackupResult>> {
  const engine = engineNamed(o.engine);
  if (!engine) throw new ConfigError(`unknown engine "${o.engine}"`, [], { hint: 'use postgres, redis or neo4j' });
  const h = selectEnv(ctx, o.env);
  const lock = { operation: 'backup' as const, engine: engine.name };
  const results = await withLock(ctx, h, lock, { forceUnlock: Boolean(o.forceUnlock) }, () =>
    backupWith(ctx, h, engine, o),
  );
  if (h.env.metrics) await publishMetrics(ctx, h.env, await statusOf(ctx, h, {}));
  return results;
}

/** What the units of one run share. */
interface Job {
  ctx: AppContext;
  h: EnvHandle;
  engine: Engine;
  cfg: AnySection;
  plan: BackupPlan;
  compression: Compression;
  /** Versions for the manifest: this machine's compressor, then the plan's tools where the work runs. */
  tools: Record<string, string>;
}

async function backupWith(ctx: AppContext, h: EnvHandle, engine: Engine, o: RunBackupOptions) {
  const cfg = engineSection(ctx, h, engine);
  const units = selectUnits(h, engine, cfg, o.database);
  const compression = o.compression ?? cfg.compression;
  const password = await resolvePassword(ctx, h, engine, cfg);
  const tools = await runnerTools(ctx, compression);
  const transport = await openTransport(ctx, cfg.transport, `envs.${h.name}.${engine.name}`);
  try {
    const request = {
      env: h.name,
      configFile: ctx.configFile,
      units,
      database: o.database,
      globals: o.globals,
      mode: o.mode,
      method: o.method,
      password,
    };
    const previous = engine.chained?.(cfg, o.type) ? await newestPerUnit(ctx, h, engine.name) : undefined;
    const plan = engine.backupPlan(cfg, {
      ...request,
      host: transport.host,
      stamp: scratchStamp(ctx.now()),
      type: o.type,
      previous,
    });
    if (plan.refused) throw new ConfigError(plan.refused.problem, [], { hint: plan.refused.hint });
    // Before any offline window: its facts (tool versions) go to the manifest like the tools'.
    const before = plan.before?.length ? await runSteps(ctx, transport, plan.before) : {};
    const job: Job = { ctx, h, engine, cfg, plan, compression, tools: { ...tools, ...before } };
    return await withBackupWindow(
      ctx,
      { transport: cfg.transport, engine: engine.name },
      plan.window,
      transport,
      (where) => backupUnits(job, where),
    );
  } finally {
    await transport.close();
  }
}

/** Per unit, the newest complete backup in the store and its manifest's facts (what a chained backup builds on). */
async function newestPerUnit(
  ctx: AppContext,
  h: EnvHandle,
  engine: string,
): Promise<Record<string, { key: string; facts: Record<string, string> }>> {
  const out: Record<string, { key: string; facts: Record<string, string> }> = {};
  for (const b of (await readCatalog(ctx, h, engine)).backups)
    // newest first
    out[b.manifest.target.database] ??= { key: b.key, facts: b.manifest.tools };
  return out;
}

/** The configured units, or the one asked for (which must be configured). */
function selectUnits(h: EnvHandle, engine: Engine, cfg: AnySection, database: string | undefined): string[] {
  const all = engine.units(cfg);
  if (database === undefined) return all;
  if (!all.includes(database)) {
    throw new ConfigError(`database "${database}" is not configured for env "${h.name}"`, [], {
      hint: `use one of: ${all.join(', ')} (or add it to envs.${h.name}.${engine.name}.databases)`,
    });
  }
  return [database];
}

/** Where the work runs: the tools and checks once, then each unit in turn (a failure of one does not stop the next). */
async function backupUnits(job: Job, where: Transport): Promise<BackupOutcome<BackupResult>> {
  const { ctx, plan } = job;
  const tools = { ...job.tools, ...(await runSteps(ctx, where, plan.tools)) };
  // The checks see the tools' versions (a client older than the server is refused); they add only their own facts.
  const checked = await runSteps(ctx, where, plan.checks, tools);
  const facts = Object.fromEntries(Object.entries(checked).filter(([k]) => !Object.hasOwn(tools, k)));
  const units = plan.units;
  return forEachDatabase(ctx, job.engine.name, units, (unit) => backupUnit({ ...job, tools }, where, unit, facts));
}

async function backupUnit(job: Job, where: Transport, unit: string, shared: Facts): Promise<BackupResult> {
  const { ctx, h, compression } = job;
  const u = job.plan.unit(unit);
  const started = ctx.now();
  const t0 = performance.now();
  const artifacts: ManifestArtifact[] = [];
  try {
    const facts = await runSteps(ctx, where, u.steps, shared);
    for (const [i, a] of u.artifacts(facts).entries()) {
      artifacts.push(
        await streamArtifact(job, where, a, { unit, started, size: i === 0 ? u.sizeEstimate?.(facts) : undefined }),
      );
    }
    const durationMs = Math.round(performance.now() - t0);
    const { manifestKey } = await writeManifest(ctx, h, {
      engine: job.engine.name,
      database: unit,
      transport: where,
      address: u.address ?? where.host,
      format: u.format,
      compression,
      artifacts,
      tools: { ...job.tools, ...(u.manifestFacts?.(facts) ?? {}) },
      started,
      durationMs,
    });
    const main = artifacts[0] as ManifestArtifact;
    const { bytes, rawBytes, sha256 } = main;
    return {
      env: h.name,
      engine: job.engine.name,
      database: unit,
      key: main.key,
      manifestKey,
      bytes,
      rawBytes,
      sha256,
      durationMs,
      artifacts,
    };
  } catch (err) {
    throw await removeArtifacts(ctx, h.store, artifacts, err);
  } finally {
    await cleanup(ctx, where, u.cleanup ?? []);
  }
}

/** One artifact of a unit: its key, then the producer's output streamed, checked and uploaded. */
async function streamArtifact(
  job: Job,
  where: Transport,
  a: ArtifactPlan,
  at: { unit: string; started: Date; size: number | undefined },
): Promise<ManifestArtifact> {
  const { ctx, h, compression } = job;
  const key = artifactKey({
    storePrefix: h.store.prefix,
    env: h.name,
    engine: job.engine.name,
    name: at.unit,
    startedAt: at.started,
    extension: `${a.extension}${compressionExtension(compression)}`,
  });
  ctx.reporter.step(`${a.report} to ${h.store.description}/${key}`);
  return uploadArtifact(ctx, h.store, {
    role: a.role,
    key,
    command: a.command,
    transport: where,
    compression,
    zstd: { level: job.cfg.zstdLevel, threads: job.cfg.zstdThreads },
    sizeEstimate: at.size,
    magic: a.magic,
    idleTimeoutMs: producerIdleMs(job.cfg.transport),
    producerHint: a.producerHint,
  });
}

/** The unit's cleanup commands, whatever happened; a failure is a warning (the backup's result stands). */
async function cleanup(ctx: AppContext, where: Transport, commands: CommandSpec[]): Promise<void> {
  for (const c of commands) {
    const r = await capture(where, c).catch((e: unknown) => ({ exitCode: 1, stderrTail: String(e) }));
    if (r.exitCode !== 0)
      ctx.reporter.warn(`cleanup ${c.argv.join(' ')} failed: ${r.stderrTail.trim().split('\n')[0] ?? ''}`);
  }
}
