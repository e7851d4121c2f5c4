// Uploads one producer's output as a verified artifact (engine-agnostic), and removes artifacts on a later failure.

import type { Compression } from '../domain/compression.js';
import { mainArtifact, type Manifest, type ManifestArtifact } from '../domain/manifest.js';
import { compressStage, decompressStage, type ZstdOptions } from '../pipeline/compress.js';
import { downloadVerified } from '../pipeline/restore-stream.js';
import { streamToStore } from '../pipeline/backup-stream.js';
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
}

export async function uploadArtifact(ctx: AppContext, store: ObjectStore, job: ArtifactJob): Promise<ManifestArtifact> {
  const compression = compressStage(job.compression, ctx.runner, job.zstd);
  let producer;
  try {
    producer = job.transport.start({ ...job.command, stdin: 'ignore' });
  } catch (err) {
    compression.kill();
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
  };
}

/** Best-effort removal of artifacts that were stored before a later step failed (no manifest was written). */
export async function removeArtifacts(ctx: AppContext, store: ObjectStore, artifacts: ManifestArtifact[]): Promise<void> {
  for (const a of artifacts) {
    try {
      await store.delete(a.key, a.versionId);
    } catch (err) {
      ctx.reporter.warn(`could not remove ${a.key} after the failure: ${(err as Error).message}`);
    }
  }
}

/** Downloads a backup's main artifact into `path`, decompressed in the same pass; rejects unless size and sha256
 * match the manifest. Nothing on the database side is touched. */
export async function downloadMainArtifact(ctx: AppContext, store: ObjectStore, manifest: Manifest, path: string): Promise<ManifestArtifact> {
  const art = mainArtifact(manifest);
  ctx.reporter.step(`downloading ${art.key} and checking its sha256`);
  await downloadVerified(store, art.key, path, art, {
    onBytes: (b) => ctx.reporter.progress(b, art.bytes),
    signal: ctx.signal,
    decompress: decompressStage(manifest.compression, ctx.runner),
  });
  return art;
}
