// Reads what an env holds for an engine and judges it with the one definition of a complete backup
// (domain/complete.ts): complete backups, suspect manifests (with reasons) and orphan objects.

import { brokenChains, judgeManifest, type Listed } from '../domain/complete.js';
import { ConfigError, IntegrityError, NotFoundError } from '../domain/errors.js';
import {
  checkKeyInPrefix,
  enginePrefix,
  isManifestKey,
  normalizeUserKey,
  toManifestKey,
  MANIFEST_SUFFIX,
} from '../domain/keys.js';
import { objectKeysOf, parseManifest, sortNewestFirst, type Manifest } from '../domain/manifest.js';
import type { ObjectInfo } from '../storage/store.js';
import type { AppContext, EnvHandle } from './context.js';
import { manifestCacheFile, readManifests } from './manifest-cache.js';

export interface CatalogEntry {
  /** Key of the main artifact. */
  key: string;
  manifestKey: string;
  manifest: Manifest;
  /** When the manifest object was written (the store's LastModified). */
  lastModified: Date;
  /** False when an artifact's ETag differs from the one recorded at backup time (replaced since). */
  intact: boolean;
}

/** A manifest that is not proof of a backup: unparsable, inconsistent with its key, or its artifacts are not there. */
export interface SuspectEntry {
  manifestKey: string;
  lastModified: Date;
  reasons: string[];
  /** What the manifest claims, when it parsed. */
  database?: string | undefined;
  finishedAt?: string | undefined;
}

export interface Catalog {
  /** The engine folder all of this lies in: `<prefix>/<env>/<engine>/`. */
  prefix: string;
  /** Proven-complete backups, newest first. */
  backups: CatalogEntry[];
  suspects: SuspectEntry[];
  /** Objects under the folder that no complete backup names and that are not manifests. */
  orphans: ObjectInfo[];
}

export async function readCatalog(ctx: AppContext, h: EnvHandle, engine: string): Promise<Catalog> {
  const prefix = enginePrefix(h.store.prefix, h.name, engine);
  const { objects, unfinished: allUnfinished } = await h.store.listWithUnfinished(prefix);
  const listing = new Map<string, Listed>(objects.map((o) => [o.key, o]));
  // Only objects directly in the folder are this env's: deeper keys may be another env's folder nested in this one
  // (an env whose store prefix is `<this env>/<engine>`), never ours to judge or delete.
  const direct = objects.filter((o) => !o.key.slice(prefix.length).includes('/'));
  const manifests = direct.filter((o) => isManifestKey(o.key));
  const cacheFile = manifestCacheFile(ctx.cacheDir, storeIdentity(h), prefix);
  const texts = await readManifests(h.store, manifests, cacheFile, (m) => ctx.reporter.warn(m));
  const backups: CatalogEntry[] = [];
  const suspects: SuspectEntry[] = [];
  const now = ctx.now();
  for (const o of manifests) {
    const t = texts.get(o.key);
    if (!t || 'problem' in t) {
      suspects.push({
        manifestKey: o.key,
        lastModified: o.lastModified,
        reasons: [t && 'problem' in t ? t.problem : 'not read'],
      });
      continue;
    }
    const j = judgeManifest(o.key, t.text, o, listing, { enginePrefix: prefix, env: h.name, engine, now });
    if (j.complete)
      backups.push({
        key: o.key.slice(0, -MANIFEST_SUFFIX.length),
        manifestKey: o.key,
        manifest: j.manifest,
        lastModified: o.lastModified,
        intact: j.intact,
      });
    else
      suspects.push({
        manifestKey: o.key,
        lastModified: o.lastModified,
        reasons: j.reasons,
        database: j.manifest?.target.database,
        finishedAt: j.manifest?.finishedAt,
      });
  }
  withoutBrokenChains(backups, suspects);
  chainIntact(backups);
  const referenced = new Set<string>();
  for (const b of backups) for (const k of objectKeysOf(b.manifest)) referenced.add(k);
  // What a killed write left (a file store's partial files): orphans too, removed by prune after the grace period.
  const unfinished = allUnfinished.filter((o) => !o.key.slice(prefix.length).includes('/'));
  const orphans = [...direct.filter((o) => !isManifestKey(o.key) && !referenced.has(o.key)), ...unfinished];
  return { prefix, backups: sortNewestFirst(backups), suspects, orphans };
}

/** Moves the differential backups whose chain is broken from `backups` to `suspects` (with the reason). */
function withoutBrokenChains(backups: CatalogEntry[], suspects: SuspectEntry[]): void {
  const broken = brokenChains(
    backups.map((b) => ({
      key: b.key,
      database: b.manifest.target.database,
      startedAt: b.manifest.startedAt,
      parent: b.manifest.tools.parent,
      backupType: b.manifest.tools.backupType,
      artifactName: b.manifest.tools.neo4jArtifact,
    })),
  );
  for (let i = backups.length - 1; i >= 0; i--) {
    const b = backups[i] as CatalogEntry;
    const why = broken.get(b.key);
    if (!why) continue;
    backups.splice(i, 1);
    suspects.push({
      manifestKey: b.manifestKey,
      lastModified: b.lastModified,
      reasons: [why],
      database: b.manifest.target.database,
      finishedAt: b.manifest.finishedAt,
    });
  }
}

/**
 * A differential backup restores only with its chain: when a link's objects were replaced (ETag differs), every
 * backup built on it counts as replaced too (prune's rail, --latest's preference).
 */
function chainIntact(backups: CatalogEntry[]): void {
  const byKey = new Map(backups.map((b) => [b.key, b]));
  const oldestFirst = [...backups].sort((a, b) => Date.parse(a.manifest.startedAt) - Date.parse(b.manifest.startedAt));
  for (const b of oldestFirst) {
    const parent = b.manifest.tools.parent === undefined ? undefined : byKey.get(b.manifest.tools.parent);
    if (parent && !parent.intact) b.intact = false;
  }
}

/** Names the store location for the manifest cache (never credentials). */
function storeIdentity(h: EnvHandle): string {
  const s = h.env.storage;
  return s.type === 's3' ? `s3 ${s.endpoint ?? 'aws'} ${s.region ?? ''} ${s.bucket}` : `file ${h.store.description}`;
}

/** Finds the backup named by --from (artifact or manifest key) or the newest complete one for --latest. */
export async function resolveBackup(
  ctx: AppContext,
  h: EnvHandle,
  engine: string,
  sel: { from?: string | undefined; latest?: boolean | undefined; database?: string | undefined },
): Promise<CatalogEntry> {
  if (sel.from && sel.latest) throw new ConfigError('give either --from KEY or --latest, not both');
  if (!sel.from && !sel.latest) {
    throw new ConfigError('no backup chosen', [], { hint: 'pass --from KEY (see igbackup list) or --latest' });
  }
  if (sel.latest) return latest(ctx, h, engine, sel.database);
  const bucket = h.env.storage.type === 's3' ? h.env.storage.bucket : undefined;
  const userKey = normalizeUserKey(sel.from as string, bucket);
  const prefix = enginePrefix(h.store.prefix, h.name, engine);
  const problem = checkKeyInPrefix(userKey, prefix);
  if (problem) {
    throw new ConfigError(`--from: ${problem}`, [], {
      hint: `give a key under ${prefix} of ${h.store.description} (see igbackup list ${engine} --env ${h.name})`,
    });
  }
  const manifestKey = toManifestKey(userKey);
  const head = await h.store.head(manifestKey);
  if (!head) {
    const artifact = await h.store.head(manifestKey.slice(0, -MANIFEST_SUFFIX.length));
    if (artifact) {
      throw new IntegrityError(
        `${userKey} has no manifest: it is not a complete backup (the backup failed or is still running)`,
        {
          hint: `choose a complete backup from igbackup list ${engine} --env ${h.name}`,
        },
      );
    }
    throw new NotFoundError(`no backup at ${userKey} in ${h.store.description}`, {
      hint: `see igbackup list ${engine} --env ${h.name}`,
    });
  }
  return judgeOne(ctx, h, engine, prefix, manifestKey, head);
}

async function latest(
  ctx: AppContext,
  h: EnvHandle,
  engine: string,
  database: string | undefined,
): Promise<CatalogEntry> {
  const cat = await readCatalog(ctx, h, engine);
  const mine = cat.backups.filter((b) => database === undefined || b.manifest.target.database === database);
  // Prefer one whose objects are as they were written; if none is (a copied bucket), the newest.
  const found = mine.find((b) => b.intact) ?? mine[0];
  if (found) return found;
  const skipped = cat.suspects.filter((s) => database === undefined || s.database === database).length;
  throw new NotFoundError(
    `no complete ${engine} backup${database ? ` of ${database}` : ''} in env "${h.name}" (${h.store.description})`,
    {
      hint: `${skipped ? `${skipped} suspect manifest(s) were skipped (see igbackup list ${engine} --env ${h.name}); ` : ''}run igbackup backup ${engine} --env ${h.name} first`,
    },
  );
}

/** The most objects (artifacts and their segments) one manifest is checked for without a full listing. */
const MAX_HEADS = 4096;

/** Judges one manifest by reading it and heading only its own artifacts (no full listing). */
async function judgeOne(
  ctx: AppContext,
  h: EnvHandle,
  engine: string,
  prefix: string,
  manifestKey: string,
  head: ObjectInfo,
): Promise<CatalogEntry> {
  const texts = await readManifests(h.store, [head], undefined, () => undefined);
  const t = texts.get(manifestKey);
  if (!t || 'problem' in t)
    throw new IntegrityError(`manifest ${manifestKey} cannot be used: ${t && 'problem' in t ? t.problem : 'not read'}`);
  const listing = new Map<string, Listed>([[manifestKey, head]]);
  const parsed = parseManifest(t.text);
  // Outside the env's folder: judged below, never touched. More objects than any real backup has: judged missing.
  const keys = (parsed.ok ? objectKeysOf(parsed.manifest) : []).filter((k) => !checkKeyInPrefix(k, prefix));
  for (let i = 0; i < Math.min(keys.length, MAX_HEADS); i += 16) {
    const batch = keys.slice(i, Math.min(i + 16, MAX_HEADS));
    const infos = await Promise.all(batch.map((k) => h.store.head(k)));
    infos.forEach((info, j) => info && listing.set(batch[j] as string, info));
  }
  const j = judgeManifest(manifestKey, t.text, head, listing, {
    enginePrefix: prefix,
    env: h.name,
    engine,
    now: ctx.now(),
  });
  if (!j.complete) {
    throw new IntegrityError(`${manifestKey} is not a complete backup:\n  - ${j.reasons.join('\n  - ')}`, {
      hint: `choose a complete backup from igbackup list ${engine} --env ${h.name}`,
    });
  }
  return {
    key: manifestKey.slice(0, -MANIFEST_SUFFIX.length),
    manifestKey,
    manifest: j.manifest,
    lastModified: head.lastModified,
    intact: j.intact,
  };
}
