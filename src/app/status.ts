// Use case: per engine and database, the newest complete backup, its age (= current RPO) against the tier's
// target, and whether a target is breached; the basis of `igbackup status` and of the Prometheus metrics.

import { ENGINES, type EnvConfig } from '../config/schema.js';
import { readCatalog } from './catalog.js';
import type { ObjectLockInfo } from '../storage/store.js';
import { selectEnv, type AppContext, type EnvHandle } from './context.js';
import { controlKeys } from '../domain/keys.js';
import { storeDatabases, TAR_FORMAT } from '../engines/neo4j/commands.js';
import { manifestCacheFile, readManifests } from './manifest-cache.js';
import { pitrStatusSafe, withPitr, type PitrStatus } from './postgres/pitr/status.js';

export interface StatusRow {
  engine: string;
  database: string;
  lastKey?: string | undefined;
  lastSuccess?: string | undefined;
  lastBytes?: number | undefined;
  lastDurationMs?: number | undefined;
  rpoSeconds?: number | undefined;
  /**
   * Set when the RPO counts from the newest heartbeat the backup's source held (Redis with `redis heartbeat`
   * scheduled: replication lag included) instead of the backup's end.
   */
  dataAsOf?: string | undefined;
  rpoTargetSeconds?: number | undefined;
  rtoTargetSeconds?: number | undefined;
  /** The newest drill report, if any. */
  lastDrill?: { at: string; ok: boolean; rtoSeconds: number } | undefined;
  breached: boolean;
  reason: string;
  /** What bounds this engine's RPO, when the method does (Neo4j Community: the offline-dump interval). */
  note?: string | undefined;
  /** S3 Object Lock of the newest backup's manifest: until when no one can remove it (absent: not locked). */
  lockedUntil?: string | undefined;
  lockMode?: string | undefined;
}

export interface StatusResult {
  env: string;
  tier?: string | undefined;
  at: string;
  rows: StatusRow[];
  ok: boolean;
  /** Point-in-time recovery of the env's PostgreSQL cluster (live status only, not with --at). */
  pitr?: PitrStatus | undefined;
}

/** The databases an env is configured to back up, per engine (pure). */
export function configuredTargets(env: EnvConfig): { engine: string; database: string }[] {
  const out: { engine: string; database: string }[] = [];
  for (const db of env.postgres?.databases ?? []) out.push({ engine: 'postgres', database: db });
  if (env.redis) out.push({ engine: 'redis', database: env.redis.name });
  for (const db of env.neo4j?.databases ?? []) out.push({ engine: 'neo4j', database: db });
  return out;
}

export async function status(ctx: AppContext, opts: { env: string; at?: Date | undefined }): Promise<StatusResult> {
  return statusOf(ctx, selectEnv(ctx, opts.env), opts);
}

type Backup = Awaited<ReturnType<typeof readCatalog>>['backups'][number];
type LastDrill = StatusRow['lastDrill'];

/** The status of an env already resolved (a backup publishing its metrics uses the store it wrote through). */
export async function statusOf(ctx: AppContext, h: EnvHandle, opts: { at?: Date | undefined }): Promise<StatusResult> {
  const now = opts.at ?? ctx.now();
  const tier = h.env.tier ? ctx.config.tiers[h.env.tier] : undefined;
  const targets = {
    tier: h.env.tier,
    rpo: tier ? tier.rpoMinutes * 60 : undefined,
    rto: tier ? tier.rtoMinutes * 60 : undefined,
  };
  const [newest, drills] = await Promise.all([newestBackups(ctx, h, now), lastDrills(ctx, h, now)]);
  let rows: StatusRow[] = configuredTargets(h.env).map(({ engine, database }) => ({
    ...statusRow(
      engine,
      database,
      newest.get(`${engine}/${database}`),
      drills.get(`${engine}/${database}`),
      targets,
      now,
    ),
    ...(engine === 'neo4j' && h.env.neo4j?.edition === 'community' ? { note: COMMUNITY_NOTE } : {}),
  }));
  // Whether the newest backup of each row is locked (one HeadObject per backup; a file store has no lock).
  const locks = new Map<string, Promise<ObjectLockInfo | undefined>>();
  for (const r of rows) {
    const b = newest.get(`${r.engine}/${r.database}`);
    if (b && !locks.has(b.manifestKey))
      locks.set(
        b.manifestKey,
        h.store.head(b.manifestKey).then(
          (i) => i?.lock,
          () => undefined,
        ),
      );
  }
  rows = await Promise.all(
    rows.map(async (r) => {
      const b = newest.get(`${r.engine}/${r.database}`);
      const lock = b && (await locks.get(b.manifestKey));
      return lock && lock.until > now ? { ...r, lockedUntil: lock.until.toISOString(), lockMode: lock.mode } : r;
    }),
  );
  // The archiver's state is now, not at a past moment: with --at the logical dumps alone are judged.
  const pitr = h.env.postgres?.pitr && !opts.at ? await pitrStatusSafe(ctx, h, tier?.rpoMinutes) : undefined;
  if (pitr) rows = withPitr(rows, pitr);
  return { env: h.name, tier: h.env.tier, at: now.toISOString(), rows, ok: !rows.some((r) => r.breached), pitr };
}

/** Neo4j Community has no online or incremental backup: what that means for the RPO, said wherever it is judged. */
export const COMMUNITY_NOTE =
  'Neo4j Community: the RPO is the interval between offline dumps (no online or incremental backup), and each dump stops the database for its duration';

/**
 * When the backup's data is from (ms): the heartbeat its source held, when the manifest records one that is not
 * after the backup's end (a manifest can lie), else the backup's end.
 */
function dataAsOf(b: Backup): number {
  const end = Date.parse(b.manifest.finishedAt);
  const beat = Date.parse(b.manifest.tools.heartbeat ?? '');
  return Number.isNaN(beat) || beat > end ? end : beat;
}

/** The newest complete backup per engine/database as of `now`, of the engines the env configures. */
async function newestBackups(ctx: AppContext, h: EnvHandle, now: Date): Promise<Map<string, Backup>> {
  const newest = new Map<string, Backup>();
  const engines = ENGINES.filter((e) => configuredTargets(h.env).some((t) => t.engine === e));
  const catalogs = await Promise.all(engines.map((e) => readCatalog(ctx, h, e)));
  for (const [i, cat] of catalogs.entries()) {
    const engine = engines[i] as string;
    for (const b of cat.backups) {
      if (Date.parse(b.manifest.finishedAt) > now.getTime()) continue; // not yet taken as of `at`
      // A Neo4j tar holds every database of the DBMS: it is the newest backup of each of them too.
      const units = [
        b.manifest.target.database,
        ...(b.manifest.format === TAR_FORMAT ? storeDatabases(b.manifest) : []),
      ];
      for (const u of units) if (!newest.has(`${engine}/${u}`)) newest.set(`${engine}/${u}`, b); // newest first
    }
  }
  return newest;
}

/** One database's row: its newest backup's age against the RPO target, its last drill's RTO against the RTO target. */
function statusRow(
  engine: string,
  database: string,
  b: Backup | undefined,
  lastDrill: LastDrill,
  targets: { tier: string | undefined; rpo: number | undefined; rto: number | undefined },
  now: Date,
): StatusRow {
  const { rpo: rpoTarget, rto: rtoTarget } = targets;
  if (!b)
    return {
      engine,
      database,
      rpoTargetSeconds: rpoTarget,
      rtoTargetSeconds: rtoTarget,
      lastDrill,
      breached: true,
      reason: 'no complete backup',
    };
  const asOf = dataAsOf(b);
  const rpo = Math.max(0, Math.round((now.getTime() - asOf) / 1000));
  // A stored report's own verdict is not enough: its RTO is judged again against today's target.
  const drillBad =
    lastDrill !== undefined &&
    (!lastDrill.ok || !(lastDrill.rtoSeconds >= 0) || (rtoTarget !== undefined && lastDrill.rtoSeconds > rtoTarget));
  const breached = (rpoTarget !== undefined && rpo > rpoTarget) || drillBad;
  return {
    engine,
    database,
    lastKey: b.key,
    lastSuccess: b.manifest.finishedAt,
    lastBytes: b.manifest.artifacts.reduce((n, a) => n + a.bytes, 0),
    lastDurationMs: b.manifest.durationMs,
    rpoSeconds: rpo,
    ...(asOf !== Date.parse(b.manifest.finishedAt) ? { dataAsOf: new Date(asOf).toISOString() } : {}),
    rpoTargetSeconds: rpoTarget,
    rtoTargetSeconds: rtoTarget,
    lastDrill,
    breached,
    reason:
      rpoTarget !== undefined && rpo > rpoTarget
        ? `RPO ${rpo} s${asOf !== Date.parse(b.manifest.finishedAt) ? ` (from the heartbeat in the last backup, ${new Date(asOf).toISOString()})` : ''} exceeds the ${targets.tier} target of ${rpoTarget} s`
        : drillBad
          ? `the last drill failed (RTO ${lastDrill?.rtoSeconds} s)`
          : rpoTarget === undefined
            ? 'no tier: no target'
            : 'within target',
  };
}

/** The newest drill report per engine/database (as of `now`); a report that does not parse is skipped with a warning. */
async function lastDrills(
  ctx: AppContext,
  h: EnvHandle,
  now: Date,
): Promise<Map<string, { at: string; ok: boolean; rtoSeconds: number }>> {
  const out = new Map<string, { at: string; ok: boolean; rtoSeconds: number }>();
  for (const engine of ENGINES) {
    const prefix = controlKeys.drills(h.store.prefix, h.name, engine);
    const objects = await h.store.list(prefix);
    const texts = await readManifests(
      h.store,
      objects,
      manifestCacheFile(ctx.cacheDir, `drills ${h.store.description}`, prefix),
      (m) => ctx.reporter.warn(m),
    );
    const reports: { database: string; at: string; ok: boolean; rtoSeconds: number }[] = [];
    for (const o of objects) {
      const t = texts.get(o.key);
      const r = t && 'text' in t ? drillReport(t.text) : undefined;
      if (!r) ctx.reporter.warn(`drill report ${o.key} is not a valid report: ignored`);
      else if (Date.parse(r.at) <= now.getTime()) reports.push(r);
    }
    reports.sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
    for (const r of reports)
      if (!out.has(`${engine}/${r.database}`))
        out.set(`${engine}/${r.database}`, { at: r.at, ok: r.ok, rtoSeconds: r.rtoSeconds });
  }
  return out;
}

function drillReport(text: string): { database: string; at: string; ok: boolean; rtoSeconds: number } | undefined {
  try {
    const r = JSON.parse(text) as { database?: unknown; finishedAt?: unknown; ok?: unknown; rtoSeconds?: unknown };
    if (typeof r.database !== 'string' || typeof r.finishedAt !== 'string' || Number.isNaN(Date.parse(r.finishedAt)))
      return undefined;
    if (typeof r.ok !== 'boolean' || typeof r.rtoSeconds !== 'number') return undefined;
    return { database: r.database, at: r.finishedAt, ok: r.ok, rtoSeconds: r.rtoSeconds };
  } catch {
    return undefined;
  }
}
