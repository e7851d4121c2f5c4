// Object key layout: <prefix>/<env>/<engine>/<name>_<UTC timestamp><ext>, manifests at <artifact key>.manifest.json;
// igbackup's own objects (locks, drill reports, what storage init found) under <prefix>/<env>/.igbackup/.

import { createHash } from 'node:crypto';
import { keySafeName } from './names.js';

export const MANIFEST_SUFFIX = '.manifest.json';

/** Joins key segments with "/", dropping empty ones and stray slashes. */
export function joinKey(...parts: string[]): string {
  return parts
    .flatMap((p) => p.split('/'))
    .filter((p) => p.length > 0)
    .join('/');
}

/** UTC timestamp used in keys: 20261124T110148.123Z (sorts like time, safe in keys). */
export function keyTimestamp(date: Date): string {
  const iso = date.toISOString(); // 2026-11-24T11:01:48.123Z
  return iso.replace(/[-:]/g, '');
}

/** What a lease lock guards (see app/lock.ts). */
export interface LockScope {
  operation: 'backup' | 'restore' | 'drill';
  engine: string;
  /** The restore's target (a database name), for engines whose restores lock per target. */
  target?: string | undefined;
}

/** igbackup's own objects of an env: never backups, never orphans. */
export const controlKeys = {
  folder: (storePrefix: string, env: string): string => `${joinKey(storePrefix, env, '.igbackup')}/`,
  /**
   * locks/<engine>.json (backups; Redis and Neo4j restores too), locks/drill/<engine>.json, and per target
   * locks/restore/<engine>/<readable name>-<sha256 of the exact name, 16 hex>.json (any name stays a safe, distinct key).
   */
  lock: (storePrefix: string, env: string, scope: LockScope): string => {
    const base = joinKey(storePrefix, env, '.igbackup', 'locks');
    if (scope.operation === 'drill') return joinKey(base, 'drill', `${scope.engine}.json`);
    if (scope.operation === 'restore' && scope.target !== undefined) {
      const slug = scope.target.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 40);
      const hash = createHash('sha256').update(scope.target).digest('hex').slice(0, 16);
      return joinKey(base, 'restore', scope.engine, `${slug}-${hash}.json`);
    }
    return joinKey(base, `${scope.engine}.json`);
  },
  /** The folder of an engine's drill reports; ends with "/". */
  drills: (storePrefix: string, env: string, engine: string): string =>
    `${joinKey(storePrefix, env, '.igbackup', 'drills', engine)}/`,
  drillReport: (storePrefix: string, env: string, engine: string, database: string, startedAt: Date): string =>
    joinKey(storePrefix, env, '.igbackup', 'drills', engine, `${database}_${keyTimestamp(startedAt)}.json`),
  /** Which governance items storage init found unsupported on this server. */
  storageInit: (storePrefix: string, env: string): string =>
    joinKey(storePrefix, env, '.igbackup', 'storage-init.json'),
  /** The throwaway object of a storage check's KMS round trip (its own folder: removed by version right after). */
  storageProbe: (storePrefix: string, env: string, name: string): string =>
    joinKey(storePrefix, env, '.igbackup-check', name),
};

/** The folder holding one engine's backups of one env. Always ends with "/". */
export function enginePrefix(storePrefix: string, env: string, engine: string): string {
  return `${joinKey(storePrefix, env, engine)}/`;
}

/** Key of a new artifact. */
export function artifactKey(opts: {
  storePrefix: string;
  env: string;
  engine: string;
  name: string;
  startedAt: Date;
  extension: string;
}): string {
  const file = `${keySafeName(opts.name)}_${keyTimestamp(opts.startedAt)}${opts.extension}`;
  return joinKey(opts.storePrefix, opts.env, opts.engine, file);
}

/** Key of the n-th segment (n ≥ 2) of an artifact stored in segments; the first segment is at the artifact's key. */
export function segmentKey(artifact: string, n: number): string {
  return `${artifact}.seg-${String(n).padStart(4, '0')}`;
}

export function manifestKeyFor(artifact: string): string {
  return `${artifact}${MANIFEST_SUFFIX}`;
}

export function isManifestKey(key: string): boolean {
  return key.endsWith(MANIFEST_SUFFIX);
}

/** Given a user-supplied key (artifact or manifest), returns the manifest key. */
export function toManifestKey(key: string): string {
  return isManifestKey(key) ? key : manifestKeyFor(key);
}

/**
 * Checks a user-supplied key against the env's engine folder; returns a problem text or undefined.
 * Accepts keys with or without a leading "s3://bucket/" or "/".
 */
export function checkKeyInPrefix(key: string, prefix: string): string | undefined {
  if (key.split('/').some((seg) => seg === '..' || seg === '.')) return `key "${key}" contains "." or ".." segments`;
  if (!key.startsWith(prefix)) return `key "${key}" is outside "${prefix}"`;
  if (key.length === prefix.length) return `key "${key}" names a folder, not a backup`;
  return undefined;
}

/** Strips "s3://bucket/" or a leading "/" from what a user typed, so keys can be pasted from `list`. */
export function normalizeUserKey(input: string, bucket: string | undefined): string {
  let key = input.trim();
  if (bucket && key.startsWith(`s3://${bucket}/`)) key = key.slice(`s3://${bucket}/`.length);
  return key.replace(/^\/+/, '');
}
