// Reads what an env holds for an engine: complete backups (by manifest), bad manifests, orphan artifacts.

import { ConfigError, IntegrityError, NotFoundError } from '../domain/errors.js';
import {
  checkKeyInPrefix,
  enginePrefix,
  isManifestKey,
  normalizeUserKey,
  toManifestKey,
  MANIFEST_SUFFIX,
} from '../domain/keys.js';
import { parseManifest, sortNewestFirst, type Manifest } from '../domain/manifest.js';
import type { ObjectInfo } from '../storage/store.js';
import type { AppContext, EnvHandle } from './context.js';

export interface CatalogEntry {
  /** Key of the main artifact. */
  key: string;
  manifestKey: string;
  manifest: Manifest;
}

export interface Catalog {
  backups: CatalogEntry[];
  invalid: { manifestKey: string; problems: string[] }[];
  /** Objects that no manifest names (failed or running backups, or foreign files). */
  orphans: ObjectInfo[];
}

const READ_CONCURRENCY = 8;

export async function readCatalog(ctx: AppContext, h: EnvHandle, engine: string): Promise<Catalog> {
  const prefix = enginePrefix(h.store.prefix, h.name, engine);
  const objects = await h.store.list(prefix);
  const manifests = objects.filter((o) => isManifestKey(o.key));
  const backups: CatalogEntry[] = [];
  const invalid: Catalog['invalid'] = [];
  await forEachLimit(manifests, READ_CONCURRENCY, async (o) => {
    const parsed = parseManifest((await h.store.getBytes(o.key)).toString('utf8'));
    if (!parsed.ok) {
      invalid.push({ manifestKey: o.key, problems: parsed.problems });
      return;
    }
    const key = o.key.slice(0, -MANIFEST_SUFFIX.length);
    if (parsed.manifest.env !== h.name || parsed.manifest.engine !== engine) {
      invalid.push({ manifestKey: o.key, problems: [`manifest is for ${parsed.manifest.engine}/${parsed.manifest.env}`] });
      return;
    }
    backups.push({ key, manifestKey: o.key, manifest: parsed.manifest });
  });
  const referenced = new Set<string>();
  for (const b of backups) {
    referenced.add(b.manifestKey);
    for (const a of b.manifest.artifacts) referenced.add(a.key);
  }
  for (const i of invalid) referenced.add(i.manifestKey);
  const orphans = objects.filter((o) => !referenced.has(o.key));
  return { backups: sortNewestFirst(backups), invalid, orphans };
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
  if (sel.latest) {
    const cat = await readCatalog(ctx, h, engine);
    const found = cat.backups.find((b) => sel.database === undefined || b.manifest.target.database === sel.database);
    if (!found) {
      throw new NotFoundError(
        `no complete ${engine} backup${sel.database ? ` of ${sel.database}` : ''} in env "${h.name}" (${h.store.description})`,
        { hint: `run igbackup backup ${engine} --env ${h.name} first` },
      );
    }
    return found;
  }
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
      throw new IntegrityError(`${userKey} has no manifest: it is not a complete backup (the backup failed or is still running)`, {
        hint: `choose a complete backup from igbackup list ${engine} --env ${h.name}`,
      });
    }
    throw new NotFoundError(`no backup at ${userKey} in ${h.store.description}`, {
      hint: `see igbackup list ${engine} --env ${h.name}`,
    });
  }
  const parsed = parseManifest((await h.store.getBytes(manifestKey)).toString('utf8'));
  if (!parsed.ok) {
    throw new IntegrityError(`manifest ${manifestKey} is invalid: ${parsed.problems.join('; ')}`);
  }
  if (parsed.manifest.engine !== engine || parsed.manifest.env !== h.name) {
    throw new IntegrityError(`manifest ${manifestKey} describes a ${parsed.manifest.engine} backup of env ${parsed.manifest.env}`);
  }
  return { key: manifestKey.slice(0, -MANIFEST_SUFFIX.length), manifestKey, manifest: parsed.manifest };
}

async function forEachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(workers);
}
