// Use case entry for `backup`: one run per engine and env at a time (lease lock), then the engine's backup of each
// configured database in turn.

import type { Compression } from '../domain/compression.js';
import type { BackupOutcome } from './backup-common.js';
import { backupNeo4j } from './backup-neo4j.js';
import { backupPostgres, type BackupResult } from './backup-postgres.js';
import { backupRedis } from './backup-redis.js';
import { selectEnv, type AppContext } from './context.js';
import { withLock } from './lock.js';
import { publishMetrics } from './metrics.js';
import { statusOf } from './status.js';

export interface RunBackupOptions {
  env: string;
  engine: string;
  database?: string | undefined;
  compression?: Compression | undefined;
  globals?: boolean | undefined;
  mode?: 'rdb-stream' | 'bgsave' | undefined;
  forceUnlock?: boolean | undefined;
}

/** Backs up every database it can; the outcome lists what was stored and what failed (the CLI exits non-zero then). */
export async function runBackup(ctx: AppContext, o: RunBackupOptions): Promise<BackupOutcome<BackupResult>> {
  const h = selectEnv(ctx, o.env);
  const results = await withLock(
    ctx,
    h,
    { operation: 'backup', engine: o.engine },
    { forceUnlock: Boolean(o.forceUnlock) },
    async (): Promise<BackupOutcome<BackupResult>> => {
      if (o.engine === 'redis')
        return { results: await backupRedis(ctx, h, { compression: o.compression, mode: o.mode }), failures: [] };
      if (o.engine === 'neo4j') return backupNeo4j(ctx, h, { compression: o.compression, database: o.database });
      return backupPostgres(ctx, h, { database: o.database, compression: o.compression, globals: o.globals });
    },
  );
  if (h.env.metrics) await publishMetrics(ctx, h.env, await statusOf(ctx, h, {}));
  return results;
}
