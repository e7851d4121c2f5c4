// Use case: list complete backups of an env (newest first), plus invalid manifests and orphan objects.

import { ConfigError } from '../domain/errors.js';
import { mainArtifact } from '../domain/manifest.js';
import { ENGINES } from '../config/schema.js';
import { readCatalog } from './catalog.js';
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
}

export interface ListResult {
  env: string;
  store: string;
  backups: ListedBackup[];
  invalid: { manifestKey: string; problems: string[] }[];
  orphans: { key: string; bytes: number; lastModified: string }[];
}

export async function listBackups(ctx: AppContext, opts: { env: string; engine?: string | undefined }): Promise<ListResult> {
  const h = selectEnv(ctx, opts.env);
  if (opts.engine !== undefined && !(ENGINES as readonly string[]).includes(opts.engine)) {
    throw new ConfigError(`unknown engine "${opts.engine}"`, [], { hint: `use one of: ${ENGINES.join(', ')}` });
  }
  const engines = opts.engine ? [opts.engine] : [...ENGINES];
  const result: ListResult = { env: h.name, store: h.store.description, backups: [], invalid: [], orphans: [] };
  for (const engine of engines) {
    const cat = await readCatalog(ctx, h, engine);
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
      });
    }
    result.invalid.push(...cat.invalid);
    result.orphans.push(...cat.orphans.map((o) => ({ key: o.key, bytes: o.bytes, lastModified: o.lastModified.toISOString() })));
  }
  result.backups.sort((a, b) => Date.parse(b.finishedAt) - Date.parse(a.finishedAt));
  return result;
}
