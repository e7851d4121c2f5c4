// Object key layout: <prefix>/<env>/<engine>/<name>_<UTC timestamp><ext>, manifests at <artifact key>.manifest.json.

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
