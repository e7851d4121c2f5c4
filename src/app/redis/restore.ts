// Use case: restore a Redis RDB: check the host (nothing changed), download and verify, check it can fit, save the
// current state, then the swap (stop, replace, start, check the load, AOF back on): whatever fails there, the state at
// the stop is put back.

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, ProcessFailedError } from '../../domain/errors.js';
import { scratchStamp } from '../scratch.js';
import * as redis from '../../engines/redis/commands.js';
import { makeWorkspace } from '../../pipeline/restore-stream.js';
import { downloadMainArtifact } from '../artifact.js';
import { capture } from '../../transports/run.js';
import { succeeded, type Transport } from '../../transports/transport.js';
import { ensureBackupReadable, type ArchiveOptions } from '../archive.js';
import { resolveBackup } from '../catalog.js';
import { requireConfirmation, type ConfirmPolicy } from '../confirm.js';
import { withRestoreLock, type RestoreLockOptions } from '../lock.js';
import type { AppContext, EnvHandle } from '../context.js';
import { redisConnection, redisSection } from './common.js';
import { persistBeforeStop, preflightMemory, preflightRedisRestore, redisFiles } from './restore-checks.js';
import { swapRdb } from './swap.js';
import { openTransport } from '../transports.js';

export interface RedisRestoreOptions extends ConfirmPolicy, RestoreLockOptions {
  from?: string | undefined;
  latest?: boolean | undefined;
  tmpDir?: string | undefined;
  archive?: ArchiveOptions | undefined;
}

export interface RedisRestoreResult {
  env: string;
  engine: 'redis';
  key: string;
  bytes: number;
  sha256: string;
  keysInBackup?: number | undefined;
  dbsize: number;
  aof: boolean;
  durationMs: number;
  recovered?: string[] | undefined;
}

/** One restore (or backup) of the env's redis at a time: the restore stops the whole service, so it takes the engine's lock. */
export async function restoreRedis(
  ctx: AppContext,
  h: EnvHandle,
  opts: RedisRestoreOptions,
): Promise<RedisRestoreResult> {
  return withRestoreLock(ctx, h, 'redis', undefined, opts, () => restoreRedisLocked(ctx, h, opts));
}

async function restoreRedisLocked(
  ctx: AppContext,
  h: EnvHandle,
  opts: RedisRestoreOptions,
): Promise<RedisRestoreResult> {
  const t0 = performance.now();
  const cfg = redisSection(ctx, h);
  if (!cfg.restore) {
    throw new ConfigError(`envs.${h.name}.redis.restore is not configured`, [], {
      hint: 'set restore.start (and restore.configFile when appendonly is yes) so igbackup can stop and start Redis',
    });
  }
  const entry = await resolveBackup(ctx, h, 'redis', opts);
  await requireConfirmation(
    h.name,
    h.env.protected,
    `replace the data of Redis ${cfg.host}:${cfg.port} with ${entry.key}`,
    opts,
  );
  await ensureBackupReadable(ctx, h.store, entry.manifest, opts.archive);
  const conn = await redisConnection(ctx, h, cfg);
  const transport = await openTransport(ctx, cfg.transport, `envs.${h.name}.redis`);
  const ws = await makeWorkspace(opts.tmpDir);
  try {
    const target = await redisFiles(transport, conn, cfg, h.name);
    await refuseOlderTarget(transport, conn, entry.manifest.tools['server'], `${cfg.host}:${cfg.port}`);
    await preflightRedisRestore(ctx, transport, conn, cfg.restore, target);
    const plain = join(ws.dir, 'dump.rdb');
    const dump = await downloadMainArtifact(ctx, h.store, entry.manifest, plain);
    const backup = await checkRdb(ctx, plain, cfg.binDir);
    await preflightMemory(transport, conn, (await stat(plain)).size);
    await persistBeforeStop(ctx, transport, conn, cfg.restore);
    const { rdbPath, configFile } = target;
    const r = await swapRdb(ctx, {
      transport,
      conn,
      cfg,
      rdbPath,
      plain,
      configFile,
      backup,
      stamp: scratchStamp(ctx.now()),
    });
    if (r.warning) ctx.reporter.warn(r.warning);
    return {
      env: h.name,
      engine: 'redis',
      key: entry.key,
      bytes: dump.bytes,
      sha256: dump.sha256,
      keysInBackup: backup.keys,
      dbsize: r.keys,
      aof: target.aof,
      durationMs: Math.round(performance.now() - t0),
    };
  } finally {
    await ws.cleanup();
    await transport.close();
  }
}

/** The target Redis must be able to load what the backup's Redis wrote: exit 2 before anything is downloaded. */
async function refuseOlderTarget(
  transport: Transport,
  conn: redis.RedisConnection,
  backupServer: string | undefined,
  where: string,
): Promise<void> {
  const r = await capture(transport, redis.cli(conn, 'INFO', 'server'));
  // Redis answered redisFiles a moment ago; a failure here leaves the judgement to the steps that follow.
  const old = succeeded(r)
    ? redis.targetTooOld(backupServer, redis.parseInfo(r.stdout).redis_version, where)
    : undefined;
  if (old) throw new ConfigError(old.problem, [], { hint: old.hint });
}

/** redis-check-rdb on the verified download, before Redis is touched; what it read (keys, keys with an expire). */
async function checkRdb(ctx: AppContext, path: string, binDir: string | undefined): Promise<redis.RdbSummary> {
  const r = await capture(ctx.runner, redis.checkRdbCommand(path, undefined));
  if (r.startError) {
    ctx.reporter.warn(
      `redis-check-rdb is not installed here; the RDB was checked by sha256 only (${binDir ? 'binDir applies to the Redis host' : 'install redis-tools'})`,
    );
    return {};
  }
  if (!succeeded(r))
    throw new ProcessFailedError(
      'redis-check-rdb',
      { ...r, stderrTail: `${r.stdout}\n${r.stderrTail}` },
      { hint: 'the artifact is not a loadable RDB; Redis was not touched' },
    );
  return redis.parseCheckRdb(r.stdout);
}
