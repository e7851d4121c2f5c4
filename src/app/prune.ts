// Use case: prune old backups of an env. Dry run unless confirmed; only complete backups count, ordered by manifest
// time; the newest complete backup of each database is never removed; objects without a manifest go only after a
// grace period. Manifests are removed first, so an interrupted prune never leaves a manifest without its data.

import { ConfigError } from '../domain/errors.js';
import { selectRetention, type RetentionPolicy } from '../domain/retention.js';
import { ENGINES } from '../config/schema.js';
import { readCatalog, type CatalogEntry } from './catalog.js';
import { requireConfirmation, type ConfirmPolicy } from './confirm.js';
import { selectEnv, type AppContext } from './context.js';

export interface PruneOptions extends ConfirmPolicy {
  env: string;
  engine?: string | undefined;
  keepLast?: number | undefined;
  keepDays?: number | undefined;
  /** Delete for real (otherwise a dry run that only reports). */
  apply: boolean;
  /** Remove every version (versioned buckets), not just add delete markers. */
  purgeVersions: boolean;
}

export interface PruneResult {
  env: string;
  dryRun: boolean;
  policy: RetentionPolicy & { orphanGraceHours: number };
  kept: { key: string; engine: string; database: string; finishedAt: string; why: string }[];
  removed: { key: string; engine: string; database: string; finishedAt: string; objects: string[] }[];
  orphansRemoved: { key: string; lastModified: string }[];
  orphansKept: { key: string; lastModified: string }[];
  versioning: string;
}

export async function prune(ctx: AppContext, opts: PruneOptions): Promise<PruneResult> {
  const h = selectEnv(ctx, opts.env);
  if (opts.engine !== undefined && !(ENGINES as readonly string[]).includes(opts.engine)) {
    throw new ConfigError(`unknown engine "${opts.engine}"`, [], { hint: `use one of: ${ENGINES.join(', ')}` });
  }
  const policy = {
    keepLast: opts.keepLast ?? h.env.retention.keepLast,
    keepDays: opts.keepDays ?? h.env.retention.keepDays,
    orphanGraceHours: h.env.retention.orphanGraceHours,
  };
  const now = ctx.now();
  const engines = opts.engine ? [opts.engine] : [...ENGINES];
  const entries: (CatalogEntry & { engine: string; database: string; finishedAt: string })[] = [];
  const orphans: { key: string; lastModified: Date }[] = [];
  for (const engine of engines) {
    const cat = await readCatalog(ctx, h, engine);
    for (const b of cat.backups) entries.push({ ...b, engine, database: b.manifest.target.database, finishedAt: b.manifest.finishedAt });
    orphans.push(...cat.orphans.map((o) => ({ key: o.key, lastModified: o.lastModified })));
    orphans.push(...cat.invalid.map((i) => ({ key: i.manifestKey, lastModified: new Date(0) })));
  }
  const decision = selectRetention(entries, policy, now);
  const graceCutoff = now.getTime() - policy.orphanGraceHours * 3_600_000;
  const oldOrphans = orphans.filter((o) => o.lastModified.getTime() < graceCutoff);
  const youngOrphans = orphans.filter((o) => o.lastModified.getTime() >= graceCutoff);
  const result: PruneResult = {
    env: h.name,
    dryRun: !opts.apply,
    policy,
    kept: decision.keep.map(({ item, why }) => ({ key: item.key, engine: item.engine, database: item.database, finishedAt: item.finishedAt, why })),
    removed: decision.remove.map((b) => ({
      key: b.key,
      engine: b.engine,
      database: b.database,
      finishedAt: b.finishedAt,
      objects: [b.manifestKey, ...b.manifest.artifacts.map((a) => a.key)],
    })),
    orphansRemoved: oldOrphans.map((o) => ({ key: o.key, lastModified: o.lastModified.toISOString() })),
    orphansKept: youngOrphans.map((o) => ({ key: o.key, lastModified: o.lastModified.toISOString() })),
    versioning: opts.purgeVersions
      ? 'every version of each removed object is deleted (--purge-versions): nothing can be recovered'
      : 'on a versioned bucket each removal adds a delete marker; the data stays as noncurrent versions until the lifecycle rule expires them (use --purge-versions to delete them now)',
  };
  if (!opts.apply || (result.removed.length === 0 && result.orphansRemoved.length === 0)) return result;
  await requireConfirmation(h.name, h.env.protected, `delete ${result.removed.length} backup(s) and ${result.orphansRemoved.length} orphan object(s)`, { yes: opts.yes, ask: opts.ask });
  const remove = async (key: string): Promise<void> => {
    if (opts.purgeVersions) await h.store.purge(key);
    else await h.store.delete(key);
  };
  for (const b of result.removed) {
    ctx.reporter.step(`removing ${b.key}`);
    for (const key of b.objects) await remove(key); // manifest first: the backup stops counting before data goes
  }
  for (const o of result.orphansRemoved) {
    ctx.reporter.step(`removing orphan ${o.key}`);
    await remove(o.key);
  }
  return result;
}
