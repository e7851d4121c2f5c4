// Use case: restore a Redis RDB: check the host (nothing changed), download and verify, save the current state, stop
// Redis, put the RDB in place (AOF-aware), start, check DBSIZE. Whatever fails, the state at the stop is put back.

import { join } from 'node:path';
import { ConfigError, IgbackupError, ProcessFailedError } from '../domain/errors.js';
import { scratchStamp } from './scratch.js';
import * as redis from '../engines/redis.js';
import { makeWorkspace } from '../pipeline/restore-stream.js';
import { downloadMainArtifact } from './artifact.js';
import { capture, captureOk } from '../transports/run.js';
import { succeeded } from '../transports/transport.js';
import { ensureBackupReadable, type ArchiveOptions } from './archive.js';
import { resolveBackup } from './catalog.js';
import { requireConfirmation, type ConfirmPolicy } from './confirm.js';
import { withRestoreLock, type RestoreLockOptions } from './lock.js';
import { selectEnv, type AppContext } from './context.js';
import { redisConnection, redisSection } from './redis-common.js';
import { persistBeforeStop, preflightRedisRestore, redisFiles } from './redis-restore-checks.js';
import { swapRdb } from './redis-swap.js';
import { openTransport } from './transports.js';

export interface RedisRestoreOptions extends ConfirmPolicy, RestoreLockOptions {
  env: string;
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
export async function restoreRedis(ctx: AppContext, opts: RedisRestoreOptions): Promise<RedisRestoreResult> {
  return withRestoreLock(ctx, selectEnv(ctx, opts.env), 'redis', undefined, opts, () => restoreRedisLocked(ctx, opts));
}

async function restoreRedisLocked(ctx: AppContext, opts: RedisRestoreOptions): Promise<RedisRestoreResult> {
  const t0 = performance.now();
  const h = selectEnv(ctx, opts.env);
  const cfg = redisSection(ctx, h);
  if (!cfg.restore) {
    throw new ConfigError(`envs.${h.name}.redis.restore is not configured`, [], {
      hint: 'set restore.start (and restore.configFile when appendonly is yes) so igbackup can stop and start Redis',
    });
  }
  const entry = await resolveBackup(ctx, h, 'redis', opts);
  await requireConfirmation(h.name, h.env.protected, `replace the data of Redis ${cfg.host}:${cfg.port} with ${entry.key}`, opts);
  await ensureBackupReadable(ctx, h.store, entry.manifest, opts.archive);
  const conn = await redisConnection(ctx, h, cfg);
  const transport = await openTransport(ctx, cfg.transport, `envs.${h.name}.redis`);
  const ws = await makeWorkspace(opts.tmpDir);
  try {
    const target = await redisFiles(transport, conn, cfg, h.name);
    await preflightRedisRestore(ctx, transport, conn, cfg.restore, target);
    const plain = join(ws.dir, 'dump.rdb');
    const dump = await downloadMainArtifact(ctx, h.store, entry.manifest, plain);
    const keysInBackup = await checkRdb(ctx, plain, cfg.binDir);
    const { rdbPath, aof } = target;
    await persistBeforeStop(ctx, transport, conn, cfg.restore);
    const r = await swapRdb(ctx, { transport, conn, cfg, rdbPath, plain, aof, stamp: scratchStamp(ctx.now()) });
    if (keysInBackup !== undefined && keysInBackup > 0 && r.dbsize === 0) {
      throw new IgbackupError(`Redis came back with DBSIZE 0 although the backup holds ${keysInBackup} keys`, {
        hint: `check the server log: the RDB was not loaded (AOF, or a different dir/dbfilename?); the previous dump is kept at ${r.aside}`,
      });
    }
    await captureOk(transport, { argv: ['rm', '-f', r.aside] }).catch(() => undefined);
    if (keysInBackup !== undefined && r.dbsize !== keysInBackup) {
      ctx.reporter.warn(`DBSIZE is ${r.dbsize}, the backup holds ${keysInBackup} keys (keys with a TTL may have expired)`);
    }
    return {
      env: h.name,
      engine: 'redis',
      key: entry.key,
      bytes: dump.bytes,
      sha256: dump.sha256,
      keysInBackup,
      dbsize: r.dbsize,
      aof,
      durationMs: Math.round(performance.now() - t0),
    };
  } finally {
    await ws.cleanup();
    await transport.close();
  }
}

/** redis-check-rdb on the verified download, before Redis is touched; returns the key count it read. */
async function checkRdb(ctx: AppContext, path: string, binDir: string | undefined): Promise<number | undefined> {
  const r = await capture(ctx.runner, redis.checkRdbCommand(path, undefined));
  if (r.startError) {
    ctx.reporter.warn(`redis-check-rdb is not installed here; the RDB was checked by sha256 only (${binDir ? 'binDir applies to the Redis host' : 'install redis-tools'})`);
    return undefined;
  }
  if (!succeeded(r)) throw new ProcessFailedError('redis-check-rdb', { ...r, stderrTail: `${r.stdout}\n${r.stderrTail}` }, { hint: 'the artifact is not a loadable RDB; Redis was not touched' });
  return redis.parseCheckRdbKeys(r.stdout);
}
