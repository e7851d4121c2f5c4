// The one definition of a complete backup (pure): a manifest is proof only when it agrees with its own key, its
// artifacts lie beside it and exist in the store's listing with the recorded sizes, and it is not from the future.

import { isManifestKey, keyTimestamp, MANIFEST_SUFFIX, segmentKey } from './keys.js';
import { mainArtifact, objectsOf, parseManifest, type Manifest, type ManifestArtifact } from './manifest.js';
import { keySafeName } from './names.js';

/** How far a manifest's finishedAt may lie after the manifest object's own LastModified (or now): clock skew. */
export const CLOCK_SKEW_MS = 5 * 60_000;

/** What the listing says about one object. */
export interface Listed {
  bytes: number;
  lastModified: Date;
  etag?: string | undefined;
}

export interface Expectation {
  /** The engine folder of the env: `<prefix>/<env>/<engine>/` (ends with "/"). */
  enginePrefix: string;
  env: string;
  engine: string;
  now: Date;
}

export type Judgement =
  | { complete: true; manifest: Manifest; intact: boolean }
  | { complete: false; reasons: string[]; manifest?: Manifest | undefined };

/** The name stem of a backup (`<name>_<timestamp>`) from a key directly under the engine folder, or undefined. */
export function backupStem(
  key: string,
  enginePrefix: string,
): { name: string; timestamp: string; stem: string } | undefined {
  if (!key.startsWith(enginePrefix)) return undefined;
  const file = key.slice(enginePrefix.length);
  const m = /^(.+)_(\d{8}T\d{6}\.\d{3}Z)(\..*)?$/.exec(file);
  if (!m || file.includes('/')) return undefined;
  return { name: m[1] as string, timestamp: m[2] as string, stem: `${m[1]}_${m[2]}` };
}

/**
 * Judges one manifest object: `text` is its content, `self` its listing entry, `listing` every object under the
 * engine folder by key. Complete only when every rule holds; otherwise the reasons say which did not.
 */
export function judgeManifest(
  manifestKey: string,
  text: string,
  self: Listed,
  listing: ReadonlyMap<string, Listed>,
  x: Expectation,
): Judgement {
  if (!isManifestKey(manifestKey)) return { complete: false, reasons: [`${manifestKey} is not a manifest key`] };
  const parsed = parseManifest(text);
  if (!parsed.ok) return { complete: false, reasons: parsed.problems.map((p) => `manifest does not parse: ${p}`) };
  const m = parsed.manifest;
  const reasons = [...identityProblems(manifestKey, m, x), ...timeProblems(m, self, x.now)];
  reasons.push(...artifactProblems(manifestKey, m, listing, x.enginePrefix));
  return reasons.length
    ? { complete: false, reasons, manifest: m }
    : { complete: true, manifest: m, intact: intact(m, listing) };
}

function identityProblems(manifestKey: string, m: Manifest, x: Expectation): string[] {
  const out: string[] = [];
  if (m.env !== x.env) out.push(`manifest names env "${m.env}", its key lies in env "${x.env}"`);
  if (m.engine !== x.engine) out.push(`manifest names engine "${m.engine}", its key lies under ${x.engine}`);
  const stem = backupStem(manifestKey, x.enginePrefix);
  if (!stem) return [...out, `key ${manifestKey} is not <name>_<UTC timestamp><ext> directly under ${x.enginePrefix}`];
  if (stem.name !== keySafeName(m.target.database))
    out.push(`manifest names database "${m.target.database}", its key names "${decodeName(stem.name)}"`);
  const started = Date.parse(m.startedAt);
  if (Number.isNaN(started)) out.push(`startedAt "${m.startedAt}" is not a time`);
  else if (keyTimestamp(new Date(started)) !== stem.timestamp)
    out.push(`startedAt ${m.startedAt} disagrees with the key's timestamp ${stem.timestamp}`);
  return out;
}

function timeProblems(m: Manifest, self: Listed, now: Date): string[] {
  const finished = Date.parse(m.finishedAt);
  if (Number.isNaN(finished)) return [`finishedAt "${m.finishedAt}" is not a time`];
  const out: string[] = [];
  const started = Date.parse(m.startedAt);
  if (!Number.isNaN(started) && finished < started)
    out.push(`finishedAt ${m.finishedAt} is before startedAt ${m.startedAt}`);
  if (finished > self.lastModified.getTime() + CLOCK_SKEW_MS) {
    out.push(
      `finishedAt ${m.finishedAt} is later than the manifest object itself was written (${self.lastModified.toISOString()})`,
    );
  }
  if (finished > now.getTime() + CLOCK_SKEW_MS) out.push(`finishedAt ${m.finishedAt} is in the future`);
  return out;
}

function artifactProblems(
  manifestKey: string,
  m: Manifest,
  listing: ReadonlyMap<string, Listed>,
  enginePrefix: string,
): string[] {
  const out: string[] = [];
  const own = manifestKey.slice(0, -MANIFEST_SUFFIX.length);
  const stem = backupStem(manifestKey, enginePrefix)?.stem;
  if (mainArtifact(m).key !== own)
    out.push(`main artifact ${mainArtifact(m).key} is not the key beside the manifest (${own})`);
  const seen = new Set<string>();
  for (const a of m.artifacts) {
    if (seen.has(a.key)) out.push(`artifact ${a.key} is named twice`);
    seen.add(a.key);
    const where = backupStem(a.key, enginePrefix);
    if (a.key.split('/').some((s) => s === '..' || s === '.' || s === ''))
      out.push(`artifact key ${a.key} has empty, "." or ".." segments`);
    else if (!a.key.startsWith(enginePrefix)) out.push(`artifact ${a.key} lies outside ${enginePrefix}`);
    else if (!where || where.stem !== stem || isManifestKey(a.key))
      out.push(`artifact ${a.key} does not belong to this backup (${stem ?? '?'})`);
    else out.push(...storedProblems(a, listing, seen));
  }
  return out;
}

/** An artifact's objects against the listing: each there with its size; segments at their own keys, adding up. */
function storedProblems(a: ManifestArtifact, listing: ReadonlyMap<string, Listed>, seen: Set<string>): string[] {
  const out: string[] = [];
  if (a.segments) {
    a.segments.forEach((s, i) => {
      const want = i === 0 ? a.key : segmentKey(a.key, i + 1);
      if (s.key !== want) out.push(`segment ${i + 1} of ${a.key} is at ${s.key}, not ${want}`);
      if (i > 0 && seen.has(s.key)) out.push(`artifact ${s.key} is named twice`);
      seen.add(s.key);
    });
    const sum = a.segments.reduce((n, s) => n + s.bytes, 0);
    if (sum !== a.bytes) out.push(`the segments of ${a.key} add up to ${sum} bytes, the manifest says ${a.bytes}`);
    if (out.length) return out;
  }
  for (const o of objectsOf(a)) {
    const l = listing.get(o.key);
    if (!l) out.push(`artifact ${o.key} is missing from the store`);
    else if (l.bytes !== o.bytes)
      out.push(`artifact ${o.key} has ${l.bytes} bytes in the store, the manifest says ${o.bytes}`);
  }
  return out;
}

/**
 * False when an artifact's recorded ETag differs from the listing's: the object was replaced after the backup (same
 * size, other bytes?). Not a reason to distrust the backup by itself — a bucket copied elsewhere changes every ETag —
 * but prune never lets such a backup be the one that stands in for the older ones (fail-safe: it keeps more).
 */
function intact(m: Manifest, listing: ReadonlyMap<string, Listed>): boolean {
  return m.artifacts.every((a) =>
    objectsOf(a).every((o) => {
      const now = listing.get(o.key)?.etag;
      return o.etag === undefined || now === undefined || now === o.etag;
    }),
  );
}

function decodeName(n: string): string {
  try {
    return decodeURIComponent(n);
  } catch {
    return n;
  }
}

/** A complete backup as a chain link: a differential one names the backup it builds on (manifest facts `parent`). */
export interface Link {
  key: string;
  database: string;
  startedAt: string;
  parent?: string | undefined;
  /** `diff` for a differential backup: it must name a parent. */
  backupType?: string | undefined;
  /** The file name the engine gave the artifact: unique within a chain (a restore places the links by name). */
  artifactName?: string | undefined;
}

/**
 * The backups whose chain is broken (pure), with the reason: a differential backup is restorable only when its parent
 * is a complete backup of the same database taken before it, and that one's chain is whole too.
 */
export function brokenChains(links: Link[]): Map<string, string> {
  const byKey = new Map(links.map((l) => [l.key, l]));
  const broken = new Map<string, string>();
  const oldestFirst = [...links].sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
  for (const l of oldestFirst) {
    if (l.parent === undefined) {
      if (l.backupType === 'diff') broken.set(l.key, 'differential backup whose chain is broken: it names no parent');
      continue;
    }
    const p = byKey.get(l.parent);
    const why = !p
      ? `its parent ${l.parent} is not a complete backup`
      : p.database !== l.database
        ? `its parent ${l.parent} is a backup of "${p.database}", not "${l.database}"`
        : !(Date.parse(p.startedAt) < Date.parse(l.startedAt))
          ? `its parent ${l.parent} was not taken before it`
          : broken.has(p.key)
            ? `the chain of its parent ${l.parent} is broken`
            : l.artifactName !== undefined && namesInChain(p, byKey).has(l.artifactName)
              ? `its artifact name ${l.artifactName} is already taken in its chain`
              : undefined;
    if (why) broken.set(l.key, `differential backup whose chain is broken: ${why}`);
  }
  return broken;
}

/** The artifact names of a link and its ancestors (bounded by the number of links: a cycle ends the walk). */
function namesInChain(from: Link, byKey: Map<string, Link>): Set<string> {
  const names = new Set<string>();
  for (
    let at: Link | undefined = from, n = 0;
    at && n <= byKey.size;
    at = at.parent ? byKey.get(at.parent) : undefined, n++
  )
    if (at.artifactName !== undefined) names.add(at.artifactName);
  return names;
}
