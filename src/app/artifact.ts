// Uploads one producer's output as a verified artifact (engine-agnostic), and removes artifacts on a later failure.

import type { Compression } from '../domain/compression.js';
import {
  mainArtifact,
  objectsOf,
  type Manifest,
  type ManifestArtifact,
  type ManifestSegment,
} from '../domain/manifest.js';
import { reasonOf } from '../domain/notes.js';
import { compressStage, decompressStage, type ZstdOptions } from '../pipeline/compress.js';
import { downloadVerified } from '../pipeline/restore-stream.js';
import { streamToStore } from '../pipeline/backup-stream.js';
import { removeSegments, type StoredSegment } from '../pipeline/segments.js';
import type { ObjectStore } from '../storage/store.js';
import type { CommandSpec, Transport } from '../transports/transport.js';
import type { AppContext } from './context.js';

export interface ArtifactJob {
  role: string;
  key: string;
  command: CommandSpec;
  transport: Transport;
  compression: Compression;
  zstd: ZstdOptions;
  sizeEstimate?: number | undefined;
  producerHint?: string | undefined;
  /** What a complete output starts with (the engine's format magic), when it has one. */
  magic?: { bytes: Buffer; format: string } | undefined;
  /** Fail when the producer writes nothing for this long (local producers; remote transports have their own). */
  idleTimeoutMs?: number | undefined;
}

export async function uploadArtifact(ctx: AppContext, store: ObjectStore, job: ArtifactJob): Promise<ManifestArtifact> {
  if (ctx.signal.aborted) throw reasonOf(ctx.signal); // cancelled before this upload: start nothing
  const compression = compressStage(job.compression, ctx.runner, job.zstd);
  // The stored bytes are decompressed on the way and must give back exactly what the producer wrote.
  const check = job.compression === 'none' ? undefined : decompressStage(job.compression, ctx.runner);
  let producer;
  try {
    producer = job.transport.start({ ...job.command, stdin: 'ignore' });
  } catch (err) {
    compression.kill();
    check?.kill();
    throw err;
  }
  const result = await streamToStore({
    producer,
    compression,
    store,
    key: job.key,
    sizeEstimate: job.sizeEstimate,
    signal: ctx.signal,
    producerHint: job.producerHint,
    checkRaw: producer.verify,
    proof: check ? { roundTrip: check } : 'identity',
    magic: job.magic,
    idleTimeoutMs: job.idleTimeoutMs,
    onProgress: (p) => ctx.reporter.progress(p.storedBytes, undefined),
  });
  return {
    role: job.role,
    key: job.key,
    bytes: result.stored.bytes,
    sha256: result.stored.sha256,
    rawBytes: result.raw.bytes,
    rawSha256: result.raw.sha256,
    ...(result.put.versionId ? { versionId: result.put.versionId } : {}),
    ...(result.put.etag ? { etag: result.put.etag } : {}),
    ...(result.put.segments ? { segments: result.put.segments.map(segmentEntry) } : {}),
  };
}

/** A segment as the manifest records it (no undefined fields). */
function segmentEntry(s: StoredSegment): ManifestSegment {
  return {
    key: s.key,
    bytes: s.bytes,
    sha256: s.sha256,
    ...(s.versionId ? { versionId: s.versionId } : {}),
    ...(s.etag ? { etag: s.etag } : {}),
  };
}

/**
 * After a later step failed (no manifest confirmed): removes the artifacts already stored, each by its version, and
 * returns `err` with a note naming what was removed and what could not be (then left: no manifest, not a backup).
 */
export async function removeArtifacts(
  ctx: AppContext,
  store: ObjectStore,
  artifacts: ManifestArtifact[],
  err: unknown,
): Promise<Error> {
  return removeSegments(store, artifacts.flatMap(objectsOf), err, (m) => ctx.reporter.warn(m));
}

/** Downloads a backup's main artifact into `path`, decompressed in the same pass; rejects unless size and sha256
 * match the manifest. Nothing on the database side is touched. */
export async function downloadMainArtifact(
  ctx: AppContext,
  store: ObjectStore,
  manifest: Manifest,
  path: string,
): Promise<ManifestArtifact> {
  const art = mainArtifact(manifest);
  ctx.reporter.step(`downloading ${art.key} and checking its sha256`);
  await downloadVerified(store, art.key, path, art, {
    onBytes: (b) => ctx.reporter.progress(b, art.bytes),
    signal: ctx.signal,
    decompress: decompressStage(manifest.compression, ctx.runner),
  });
  return art;
}
