// The manifest: the record written last that makes a backup complete; its schema and its parsing.

import { z } from 'zod';
import { COMPRESSIONS } from './compression.js';

export const MANIFEST_SCHEMA = 'igbackup.manifest/v1';

/** One stored object of an artifact split into segments (each at most what one multipart upload can carry). */
const segmentSchema = z.object({
  key: z.string().min(1),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  versionId: z.string().optional(),
  etag: z.string().optional(),
});

const artifactSchema = z.object({
  role: z.string().min(1), // "dump", "globals", ...
  key: z.string().min(1),
  bytes: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  rawBytes: z.number().int().nonnegative(),
  rawSha256: z.string().regex(/^[0-9a-f]{64}$/),
  versionId: z.string().optional(),
  /** The store's ETag right after the write (S3): a later listing with another ETag means the object was replaced. */
  etag: z.string().optional(),
  /**
   * Set when the artifact was stored as several objects, in order (the first at `key`, the others at
   * segmentKey(key, n)); `bytes` and `sha256` are those of the concatenation. Absent: one object at `key`.
   */
  segments: z.array(segmentSchema).min(2).optional(),
});

export const manifestSchema = z.object({
  schema: z.literal(MANIFEST_SCHEMA),
  igbackupVersion: z.string(),
  engine: z.string(),
  env: z.string(),
  target: z.object({ database: z.string(), transport: z.string(), host: z.string().optional() }),
  format: z.string(),
  compression: z.enum(COMPRESSIONS),
  artifacts: z.array(artifactSchema).min(1),
  tools: z.record(z.string(), z.string()),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationMs: z.number().nonnegative(),
  sourceHost: z.string(),
  createdBy: z.string(),
  encryption: z.object({ sse: z.string(), kmsKeyId: z.string().optional() }),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestArtifact = z.infer<typeof artifactSchema>;
export type ManifestSegment = z.infer<typeof segmentSchema>;

/** The objects an artifact is stored as, in order: its segments, or the one object at its key. */
export function objectsOf(
  a: ManifestArtifact,
): { key: string; bytes: number; versionId?: string | undefined; etag?: string | undefined }[] {
  return a.segments ?? [{ key: a.key, bytes: a.bytes, versionId: a.versionId, etag: a.etag }];
}

/** Every object key a manifest's artifacts are stored as. */
export function objectKeysOf(m: Manifest): string[] {
  return m.artifacts.flatMap((a) => objectsOf(a).map((o) => o.key));
}

/** Parses manifest JSON text; returns the manifest or a list of problems (pure). */
export function parseManifest(text: string): { ok: true; manifest: Manifest } | { ok: false; problems: string[] } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return { ok: false, problems: [`not JSON: ${(err as Error).message}`] };
  }
  const result = manifestSchema.safeParse(data);
  if (result.success) return { ok: true, manifest: result.data };
  return { ok: false, problems: result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`) };
}

export function serializeManifest(m: Manifest): string {
  return `${JSON.stringify(m, null, 2)}\n`;
}

/** The artifact holding the main dump of a backup. */
export function mainArtifact(m: Manifest): ManifestArtifact {
  const found = m.artifacts.find((a) => a.role === 'dump') ?? m.artifacts[0];
  if (!found) throw new Error('manifest has no artifacts');
  return found;
}

/** Newest first by finish time, key as tie-breaker (pure). */
export function sortNewestFirst<T extends { manifest: Manifest; key: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => {
    const d = Date.parse(b.manifest.finishedAt) - Date.parse(a.manifest.finishedAt);
    return d !== 0 ? d : b.key.localeCompare(a.key);
  });
}
