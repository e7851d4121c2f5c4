// Use case: a restore drill. Restores a backup into a throwaway target that can never be the source (a scratch
// PostgreSQL database on the configured server or in a fresh Kubernetes namespace; a scratch redis-server, or a
// throwaway Neo4j DBMS, on this machine), runs the configured smoke tests, measures the RTO (download + restore +
// checks) against the tier's target, always tears down (unless --keep), and stores a drill report next to the backups.

import { ENGINES } from '../../config/schema.js';
import { ConfigError, DriftError } from '../../domain/errors.js';
import type { EngineName } from '../../engines/engine.js';
import { engineNamed } from '../../engines/registry.js';
import { controlKeys } from '../../domain/keys.js';
import { resolveBackup } from '../catalog.js';
import { selectEnv, type AppContext, type EnvHandle } from '../context.js';
import { engineSection } from '../engine-section.js';
import { withLock } from '../lock.js';
import { drillNeo4j } from '../neo4j/drill.js';
import { drillPostgres } from '../postgres/drill.js';
import { drillRedis } from '../redis/drill.js';
import type { DrillOptions, DrillReport } from './report.js';

/** What a drill of each engine does (into what throwaway target): one procedure per engine, looked up here only. */
const DRILLS: Record<
  EngineName,
  (ctx: AppContext, h: EnvHandle, entry: Entry, opts: DrillOptions) => Promise<DrillReport>
> = {
  postgres: (ctx, h, entry, opts) => drillPostgres(ctx, h, entry.key, entry.manifest.target.database, opts),
  redis: drillRedis,
  neo4j: drillNeo4j,
};
type Entry = Awaited<ReturnType<typeof resolveBackup>>;

export { DRILL_SCHEMA, type DrillCheck, type DrillOptions, type DrillReport } from './report.js';

export async function drill(ctx: AppContext, opts: DrillOptions): Promise<DrillReport[]> {
  const h = selectEnv(ctx, opts.env);
  const engines = opts.engine === 'all' ? ENGINES.filter((e) => h.env[e]) : [opts.engine];
  const reports: DrillReport[] = [];
  for (const engine of engines) {
    // One drill per env and engine at a time; the restores inside go to throwaway targets, so they take no restore lock.
    reports.push(
      ...(await withLock(ctx, h, { operation: 'drill', engine }, { forceUnlock: Boolean(opts.forceUnlock) }, () =>
        drillEngine(ctx, h, engine, opts),
      )),
    );
  }
  const failed = reports.filter((r) => !r.ok);
  if (failed.length) {
    throw new DriftError(
      `drill failed: ${failed.map((r) => `${r.engine}/${r.database}: ${r.error ?? [...r.checks.filter((c) => !c.ok).map((c) => `${c.name} (${c.detail})`), r.rtoMet === false ? `RTO ${r.rtoSeconds} s > target ${r.rtoTargetSeconds} s` : ''].filter(Boolean).join('; ')}`).join(' | ')}`,
      { hint: 'the drill report is stored next to the backups; igbackup status shows the last drill' },
    );
  }
  return reports;
}

async function drillEngine(ctx: AppContext, h: EnvHandle, engine: string, opts: DrillOptions): Promise<DrillReport[]> {
  const reports: DrillReport[] = [];
  const e = engineNamed(engine);
  if (!e) throw new ConfigError(`unknown engine "${engine}"`, [], { hint: 'use postgres, redis, neo4j or all' });
  const all = e.unit === 'database' ? e.units(engineSection(ctx, h, e)) : [];
  const dbs = e.unit === 'database' && !opts.from ? (opts.database ? [opts.database] : all) : [opts.database];
  for (const database of dbs) {
    const entry = await resolveBackup(ctx, h, engine, {
      from: opts.from,
      latest: opts.from ? undefined : true,
      database,
    });
    const report = await DRILLS[e.name](ctx, h, entry, opts);
    await h.store.putBytes(
      controlKeys.drillReport(h.store.prefix, h.name, engine, report.database, new Date(report.startedAt)),
      `${JSON.stringify(report, null, 2)}\n`,
    );
    reports.push(report);
  }
  return reports;
}
