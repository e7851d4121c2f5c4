// What every engine's backup shares: the runner's compressor check and the manifest, written last.

import { hostname } from 'node:os';
import type { Compression } from '../domain/compression.js';
import { CancelledError, IgbackupError, ProcessFailedError, messageOf } from '../domain/errors.js';
import { manifestKeyFor } from '../domain/keys.js';
import { MANIFEST_SCHEMA, serializeManifest, type Manifest, type ManifestArtifact } from '../domain/manifest.js';
import { capture } from '../transports/run.js';
import { succeeded, type Transport } from '../transports/transport.js';
import type { AppContext, EnvHandle } from './context.js';
import { MAX_MANIFEST_BYTES } from './manifest-cache.js';

/** What one backup run stored and what failed: every configured database is tried. */
export interface BackupOutcome<R> {
  results: R[];
  failures: { database: string; error: unknown }[];
}

/**
 * Backs up each database in turn; a failure of one is reported and the next is still tried. A cancellation (or a
 * failure once the run was cancelled) stops the loop at once.
 */
export async function forEachDatabase<R>(
  ctx: AppContext,
  engine: string,
  databases: string[],
  fn: (db: string) => Promise<R>,
): Promise<BackupOutcome<R>> {
  const out: BackupOutcome<R> = { results: [], failures: [] };
  for (const [i, database] of databases.entries()) {
    try {
      out.results.push(await fn(database));
    } catch (error) {
      if (error instanceof CancelledError || ctx.signal.aborted) throw error;
      out.failures.push({ database, error });
      const rest = databases.length - i - 1;
      if (databases.length > 1)
        ctx.reporter.warn(
          `${engine} backup of ${database} FAILED: ${messageOf(error).split('\n')[0]}${rest ? `; going on with the other ${rest} database(s)` : ''}`,
        );
    }
  }
  return out;
}

/** Checks the compressor exists on this machine; returns its version for the manifest. */
export async function runnerTools(ctx: AppContext, compression: Compression): Promise<Record<string, string>> {
  if (compression !== 'zstd') return {};
  const r = await capture(ctx.runner, { argv: ['zstd', '--version'] });
  if (!succeeded(r))
    throw new ProcessFailedError('zstd', r, { hint: 'install zstd on this machine or pass --compression gzip' });
  return { zstd: /v(\d+\.\d+\.\d+)/.exec(r.stdout)?.[1] ?? r.stdout.trim() };
}

export interface ManifestInput {
  engine: string;
  /** Database or instance name. */
  database: string;
  transport: Transport;
  /** Address of the database as configured, e.g. "db:5432". */
  address: string;
  format: string;
  compression: Compression;
  artifacts: ManifestArtifact[];
  tools: Record<string, string>;
  started: Date;
  durationMs: number;
  /** Engine facts worth keeping (e.g. Redis key count). */
  extra?: Record<string, string> | undefined;
}

/** Writes the manifest next to the first artifact; the backup is complete once this returns. */
export async function writeManifest(
  ctx: AppContext,
  h: EnvHandle,
  m: ManifestInput,
): Promise<{ manifestKey: string; manifest: Manifest }> {
  const main = m.artifacts[0];
  if (!main) throw new Error('a backup needs at least one artifact');
  const manifest: Manifest = {
    schema: MANIFEST_SCHEMA,
    igbackupVersion: ctx.version,
    engine: m.engine,
    env: h.name,
    target: { database: m.database, transport: m.transport.kind, host: m.address },
    format: m.format,
    compression: m.compression,
    artifacts: m.artifacts,
    tools: { ...m.tools, ...(m.extra ?? {}) },
    startedAt: m.started.toISOString(),
    finishedAt: ctx.now().toISOString(),
    durationMs: m.durationMs,
    sourceHost: m.transport.kind === 'local' ? hostname() : m.transport.host,
    createdBy: ctx.actor,
    encryption: h.env.storage.type === 's3' ? { sse: 'aws:kms', kmsKeyId: h.env.storage.kmsKeyId } : { sse: 'none' },
  };
  const manifestKey = manifestKeyFor(main.key);
  const text = serializeManifest(manifest);
  // Never a manifest every reader would refuse: the backup fails instead (its artifacts are removed by the caller).
  if (Buffer.byteLength(text) > MAX_MANIFEST_BYTES)
    throw new IgbackupError(
      `the manifest of ${main.key} would be ${Buffer.byteLength(text)} bytes, more than the ${MAX_MANIFEST_BYTES} readers accept`,
      { hint: 'fewer segments: raise storage.segmentMiB' },
    );
  ctx.reporter.step(`writing manifest ${manifestKey}`);
  // Tied to the run's cancellation: a manifest not confirmed when a cancel lands is removed (the backup is not
  // complete); once this returns, it is.
  await h.store.putBytes(manifestKey, text, { signal: ctx.signal });
  return { manifestKey, manifest };
}
