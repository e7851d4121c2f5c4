// Reads manifest objects with bounded concurrency, through a local cache keyed by key and ETag: manifests are written
// once and never changed, so a warm `list`/`status`/`prune` reads none of them again. The cache only saves requests;
// what it returns is judged like anything read from the store.

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NotFoundError } from '../domain/errors.js';
import type { ObjectInfo, ObjectStore } from '../storage/store.js';

/** Manifests are small; anything bigger is not read at all (a hostile object must not fill the memory). */
export const MAX_MANIFEST_BYTES = 1024 * 1024;
const READ_CONCURRENCY = 32;
const CACHE_VERSION = 1;

interface CacheFile {
  version: number;
  entries: Record<string, { etag: string; text: string }>;
}

export type ManifestText = { text: string } | { problem: string };

/**
 * Returns the text of every manifest object in `objects` (or why it could not be used: too large, vanished since the
 * listing). Any other read error rejects: a manifest that could not be read must never be taken as a bad one.
 */
export async function readManifests(
  store: ObjectStore,
  objects: ObjectInfo[],
  cacheFile: string | undefined,
  warn: (m: string) => void,
): Promise<Map<string, ManifestText>> {
  const cache = cacheFile ? await loadCache(cacheFile) : { version: CACHE_VERSION, entries: {} };
  const out = new Map<string, ManifestText>();
  const next: CacheFile = { version: CACHE_VERSION, entries: {} };
  const toRead: ObjectInfo[] = [];
  for (const o of objects) {
    const hit = cache.entries[o.key];
    if (o.bytes > MAX_MANIFEST_BYTES)
      out.set(o.key, { problem: `manifest object is ${o.bytes} bytes (more than ${MAX_MANIFEST_BYTES}): not read` });
    else if (hit && o.etag && hit.etag === o.etag) {
      out.set(o.key, { text: hit.text });
      next.entries[o.key] = hit;
    } else toRead.push(o);
  }
  await forEachLimit(toRead, READ_CONCURRENCY, async (o) => {
    let text: string;
    try {
      text = (await store.getBytes(o.key)).toString('utf8');
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      out.set(o.key, { problem: 'manifest object vanished between listing and reading' });
      return;
    }
    out.set(o.key, { text });
    if (o.etag) next.entries[o.key] = { etag: o.etag, text };
  });
  if (cacheFile && toRead.length > 0)
    await saveCache(cacheFile, next).catch((err: unknown) =>
      warn(`manifest cache ${cacheFile} not written: ${(err as Error).message}`),
    );
  return out;
}

/** The cache file for one store location and engine folder, under the cache directory. */
export function manifestCacheFile(
  cacheDir: string | undefined,
  storeIdentity: string,
  enginePrefix: string,
): string | undefined {
  if (!cacheDir) return undefined;
  const id = createHash('sha256').update(`${storeIdentity}\n${enginePrefix}`).digest('hex').slice(0, 32);
  return join(cacheDir, 'manifests', `${id}.json`);
}

async function loadCache(file: string): Promise<CacheFile> {
  try {
    const data = JSON.parse(await readFile(file, 'utf8')) as CacheFile;
    if (data.version === CACHE_VERSION && data.entries && typeof data.entries === 'object') return data;
  } catch {
    // missing or unreadable: start empty
  }
  return { version: CACHE_VERSION, entries: {} };
}

async function saveCache(file: string, data: CacheFile): Promise<void> {
  const dir = join(file, '..');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, JSON.stringify(data), { mode: 0o600 });
  await rename(tmp, file);
}

async function forEachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length && !failed) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  });
  await Promise.all(workers);
}
