// Use case: restore a backup of any engine. Looks the engine's restore procedure up in one table (each lives in
// app/<engine>/restore.ts over the one step runner) and hands it the env resolved once by the caller.

import type { EngineName } from '../engines/engine.js';
import type { AppContext, EnvHandle } from './context.js';
import { restoreNeo4j, type Neo4jRestoreOptions, type Neo4jRestoreResult } from './neo4j/restore.js';
import {
  restorePostgres,
  type RestoreOptions as PostgresRestoreOptions,
  type RestoreResult as PostgresRestoreResult,
} from './postgres/restore.js';
import { restoreRedis, type RedisRestoreOptions, type RedisRestoreResult } from './redis/restore.js';

/** What a restore takes: every engine's options (the CLI has refused the flags that do not apply to the engine). */
export type RestoreOptions = PostgresRestoreOptions & RedisRestoreOptions & Neo4jRestoreOptions;
export type { GlobalsOutcome } from './postgres/restore-globals.js';
export type { PostgresRestoreResult, RedisRestoreResult, Neo4jRestoreResult };

/** What a restore did, told apart by `engine`. */
export type RestoreResult = PostgresRestoreResult | RedisRestoreResult | Neo4jRestoreResult;

const RESTORES: Record<EngineName, (ctx: AppContext, h: EnvHandle, opts: RestoreOptions) => Promise<RestoreResult>> = {
  postgres: restorePostgres,
  redis: restoreRedis,
  neo4j: restoreNeo4j,
};

/** Restores a backup of `engine` into the env's server. */
export async function restore(
  ctx: AppContext,
  h: EnvHandle,
  engine: EngineName,
  opts: RestoreOptions,
): Promise<RestoreResult> {
  return RESTORES[engine](ctx, h, opts);
}
