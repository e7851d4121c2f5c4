// Use case: prune old backups of an env. Dry run unless confirmed. Only proven-complete backups count (the rails:
// newest N, younger than D days, never the newest complete one of a database); suspect manifests and orphans go only
// after the grace period, by their own LastModified. Nothing outside the env's own engine folders is ever deleted,
// nor anything a kept backup names. Manifests go first, so an interrupted prune never leaves a manifest without data.

import { ConfigError, IgbackupError } from '../domain/errors.js';
import { objectKeysOf } from '../domain/manifest.js';
import { keepChains, selectRetention, type RetentionPolicy } from '../domain/retention.js';
import { ENGINES } from '../config/schema.js';
import { readCatalog, type Catalog } from './catalog.js';
import { requireConfirmation, type ConfirmPolicy } from './confirm.js';
import { selectEnv, type AppContext, type EnvHandle } from './context.js';

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

interface PlannedBackup {
  key: string;
  engine: string;
  database: string;
  finishedAt: string;
  why: string;
}
interface PlannedObject {
  key: string;
  engine: string;
  lastModified: string;
  why: string;
}

export interface PruneResult {
  env: string;
  dryRun: boolean;
  policy: RetentionPolicy & { orphanGraceHours: number };
  kept: PlannedBackup[];
  removed: (PlannedBackup & { objects: string[] })[];
  /** Manifests that prove nothing (see `igbackup list`), with the reasons. */
  suspectsRemoved: (PlannedObject & { reasons: string[] })[];
  suspectsKept: (PlannedObject & { reasons: string[] })[];
  orphansRemoved: PlannedObject[];
  orphansKept: PlannedObject[];
  /**
   * What the rails would remove but S3 Object Lock keeps (a version locked until a later date): left untouched, not
   * even a delete marker (that would hide a backup whose data cannot go); removed by a prune after that date.
   */
  locked: { key: string; engine: string; kind: 'backup' | 'suspect' | 'orphan'; lockedUntil: string; why: string }[];
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
  const engines = opts.engine ? [opts.engine] : [...ENGINES];
  const catalogs = new Map<string, Catalog>();
  for (const [i, c] of (await Promise.all(engines.map((e) => readCatalog(ctx, h, e)))).entries())
    catalogs.set(engines[i] as string, c);
  const result = plan(catalogs, policy, ctx.now(), h.name);
  await holdLocked(h, result, ctx.now());
  result.versioning = opts.purgeVersions
    ? 'every version of each removed backup is deleted (--purge-versions): nothing of them can be recovered; suspect manifests and orphans only get a delete marker (their older versions stay until the lifecycle rule expires them)'
    : 'on a versioned bucket each removal adds a delete marker; the data stays as noncurrent versions until the lifecycle rule expires them (use --purge-versions to delete them now)';
  result.dryRun = !opts.apply;
  const count = result.removed.length + result.suspectsRemoved.length + result.orphansRemoved.length;
  if (!opts.apply || count === 0) return result;
  await requireConfirmation(
    h.name,
    h.env.protected,
    `delete ${result.removed.length} backup(s), ${result.suspectsRemoved.length} suspect manifest(s) and ${result.orphansRemoved.length} orphan object(s)`,
    { yes: opts.yes, ask: opts.ask },
  );
  const remove = async (engine: string, key: string, purge = opts.purgeVersions): Promise<void> => {
    const folder = catalogs.get(engine)?.prefix;
    // The last rail: whatever a manifest said, only keys inside this env's own engine folder are ever deleted.
    if (!folder || !key.startsWith(folder) || key.length === folder.length)
      throw new Error(`refusing to delete ${key}: outside ${folder ?? '?'}`);
    try {
      if (purge) await h.store.purge(key);
      else await h.store.delete(key);
    } catch (err) {
      throw refused(err, key, folder, purge);
    }
  };
  for (const b of result.removed) {
    ctx.reporter.step(`removing ${b.key}`);
    for (const key of b.objects) await remove(b.engine, key); // manifest first: the backup stops counting before data goes
  }
  // What igbackup cannot judge is never destroyed for good: a delete marker, older versions stay until the lifecycle.
  for (const o of [...result.suspectsRemoved, ...result.orphansRemoved]) {
    ctx.reporter.step(`removing ${o.key} (${o.why})`);
    await remove(o.engine, o.key, false);
  }
  return result;
}

/** The whole plan, with a reason for every keep and delete (no I/O). */
function plan(catalogs: Map<string, Catalog>, policy: PruneResult['policy'], now: Date, env: string): PruneResult {
  const result: PruneResult = {
    env,
    dryRun: true,
    policy,
    kept: [],
    removed: [],
    suspectsRemoved: [],
    suspectsKept: [],
    orphansRemoved: [],
    orphansKept: [],
    locked: [],
    versioning: '',
  };
  for (const [engine, cat] of catalogs) {
    planBackups(result, engine, cat, policy, now);
    planUnjudged(result, engine, cat, policy, now);
  }
  return result;
}

/** The retention rails over an engine's complete backups: kept ones, and removed ones with the objects only they name. */
function planBackups(result: PruneResult, engine: string, cat: Catalog, policy: RetentionPolicy, now: Date): void {
  const entries = cat.backups.map((b) => ({
    ...b,
    engine,
    database: b.manifest.target.database,
    finishedAt: b.manifest.finishedAt,
    parent: b.manifest.tools.parent,
  }));
  const decision = keepChains(selectRetention(entries, policy, now));
  const protectedKeys = new Set<string>();
  for (const { item, why } of decision.keep) {
    result.kept.push({ key: item.key, engine, database: item.database, finishedAt: item.finishedAt, why });
    protectedKeys.add(item.manifestKey);
    for (const k of objectKeysOf(item.manifest)) protectedKeys.add(k);
  }
  for (const { item, why } of decision.remove) {
    const objects = [item.manifestKey, ...objectKeysOf(item.manifest)].filter((k) => !protectedKeys.has(k));
    result.removed.push({
      key: item.key,
      engine,
      database: item.database,
      finishedAt: item.finishedAt,
      why,
      objects,
    });
  }
}

/** An engine's suspect manifests and orphans: removed once older than the grace period (by their LastModified). */
function planUnjudged(
  result: PruneResult,
  engine: string,
  cat: Catalog,
  policy: PruneResult['policy'],
  now: Date,
): void {
  const graceCutoff = now.getTime() - policy.orphanGraceHours * 3_600_000;
  const aged = (d: Date): boolean => d.getTime() < graceCutoff;
  const graceWhy = (d: Date, what: string): string =>
    aged(d)
      ? `${what}, written ${d.toISOString()}: older than the ${policy.orphanGraceHours} h grace period`
      : `${what}, written ${d.toISOString()}: younger than the ${policy.orphanGraceHours} h grace period (may be a running backup)`;
  for (const s of cat.suspects) {
    const row = {
      key: s.manifestKey,
      engine,
      lastModified: s.lastModified.toISOString(),
      reasons: s.reasons,
      why: graceWhy(s.lastModified, 'suspect manifest'),
    };
    (aged(s.lastModified) ? result.suspectsRemoved : result.suspectsKept).push(row);
  }
  for (const o of cat.orphans) {
    const row = {
      key: o.key,
      engine,
      lastModified: o.lastModified.toISOString(),
      why: graceWhy(o.lastModified, 'no complete backup names it'),
    };
    (aged(o.lastModified) ? result.orphansRemoved : result.orphansKept).push(row);
  }
}

/**
 * Moves every planned removal that S3 Object Lock still protects (any of its objects locked until after now) to
 * `locked`, with the latest date; one HeadObject per object planned for removal, none for kept ones.
 */
async function holdLocked(h: EnvHandle, result: PruneResult, now: Date): Promise<void> {
  const lockedUntil = async (keys: string[]): Promise<Date | undefined> => {
    let until: Date | undefined;
    for (const k of keys) {
      const lock = (await h.store.head(k))?.lock;
      if (lock && lock.until > now && (!until || lock.until > until)) until = lock.until;
    }
    return until;
  };
  const hold = (key: string, engine: string, kind: PruneResult['locked'][number]['kind'], until: Date): void => {
    result.locked.push({
      key,
      engine,
      kind,
      lockedUntil: until.toISOString(),
      why: `locked until ${until.toISOString()} (S3 Object Lock): no one can remove it before then; a prune after that date does`,
    });
  };
  const removed = [];
  for (const b of result.removed) {
    const until = await lockedUntil(b.objects);
    if (until) hold(b.key, b.engine, 'backup', until);
    else removed.push(b);
  }
  result.removed = removed;
  for (const [list, kind] of [
    ['suspectsRemoved', 'suspect'],
    ['orphansRemoved', 'orphan'],
  ] as const) {
    const kept = [];
    for (const o of result[list]) {
      const until = await lockedUntil([o.key]);
      if (until) hold(o.key, o.engine, kind, until);
      else kept.push(o);
    }
    (result[list] as PlannedObject[]) = kept;
  }
}

/** A delete the store refused: which permission these credentials lack (S3 AccessDenied), else the error as it is. */
function refused(err: unknown, key: string, folder: string, purge: boolean): unknown {
  const text = (err as Error).message ?? '';
  if (!/AccessDenied|access denied|forbidden|403/i.test(text)) return err;
  const wanted = purge ? 's3:DeleteObject and s3:DeleteObjectVersion' : 's3:DeleteObject';
  return new IgbackupError(
    `prune needs ${wanted} on ${folder}*: deleting ${key} was refused (${text.split('\n')[0]}); nothing after it was removed`,
    {
      cause: err,
      hint: 'run prune with credentials of the prune role (igbackup storage policy --env <env> --role prune prints it); the backup role may never delete',
    },
  );
}
