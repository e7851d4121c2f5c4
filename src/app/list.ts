// Use case: list proven-complete backups of an env (newest first), plus suspect manifests (with reasons) and orphans.

import { ConfigError } from '../domain/errors.js';
import { mainArtifact } from '../domain/manifest.js';
import { ENGINES } from '../config/schema.js';
import { readCatalog } from './catalog.js';
import { listPhysical, type PhysicalListing } from './postgres/pitr/backup.js';
import { selectEnv, type AppContext } from './context.js';

export interface ListedBackup {
  engine: string;
  database: string;
  key: string;
  bytes: number;
  sha256: string;
  compression: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  createdBy: string;
  sourceHost: string;
  artifacts: number;
  /** Neo4j Enterprise: full, or differential on `parent` (the chain's previous backup). */
  backupType?: string | undefined;
  parent?: string | undefined;
}

export interface ListResult {
  env: string;
  store: string;
  backups: ListedBackup[];
  /** Manifests that are not proof of a backup: never restored by --latest, never counted for the RPO. */
  suspects: {
    engine: string;
    manifestKey: string;
    database?: string | undefined;
    lastModified: string;
    reasons: string[];
  }[];
  orphans: { key: string; bytes: number; lastModified: string }[];
  /** PostgreSQL base backups in the pgBackRest repository, when the env has postgres.pitr. */
  physical?: PhysicalListing | undefined;
}

export async function listBackups(
  ctx: AppContext,
  opts: { env: string; engine?: string | undefined },
): Promise<ListResult> {
  const h = selectEnv(ctx, opts.env);
  if (opts.engine !== undefined && !(ENGINES as readonly string[]).includes(opts.engine)) {
    throw new ConfigError(`unknown engine "${opts.engine}"`, [], { hint: `use one of: ${ENGINES.join(', ')}` });
  }
  const engines = opts.engine ? [opts.engine] : [...ENGINES];
  const result: ListResult = { env: h.name, store: h.store.description, backups: [], suspects: [], orphans: [] };
  const catalogs = await Promise.all(engines.map((engine) => readCatalog(ctx, h, engine)));
  for (const [i, cat] of catalogs.entries()) {
    const engine = engines[i] as string;
    for (const b of cat.backups) {
      const main = mainArtifact(b.manifest);
      result.backups.push({
        engine,
        database: b.manifest.target.database,
        key: b.key,
        bytes: b.manifest.artifacts.reduce((n, a) => n + a.bytes, 0),
        sha256: main.sha256,
        compression: b.manifest.compression,
        startedAt: b.manifest.startedAt,
        finishedAt: b.manifest.finishedAt,
        durationMs: b.manifest.durationMs,
        createdBy: b.manifest.createdBy,
        sourceHost: b.manifest.sourceHost,
        artifacts: b.manifest.artifacts.length,
        ...(b.manifest.tools.backupType ? { backupType: b.manifest.tools.backupType } : {}),
        ...(b.manifest.tools.parent ? { parent: b.manifest.tools.parent } : {}),
      });
    }
    for (const s of cat.suspects) {
      result.suspects.push({
        engine,
        manifestKey: s.manifestKey,
        database: s.database,
        lastModified: s.lastModified.toISOString(),
        reasons: s.reasons,
      });
    }
    result.orphans.push(
      ...cat.orphans.map((o) => ({ key: o.key, bytes: o.bytes, lastModified: o.lastModified.toISOString() })),
    );
  }
  result.backups.sort((a, b) => Date.parse(b.finishedAt) - Date.parse(a.finishedAt));
  if (engines.includes('postgres') && h.env.postgres?.pitr) result.physical = await listPhysical(ctx, h);
  return result;
}
