// Steps of a Redis restore that talk to Redis itself: the stop, stopping a Redis started on the restored data, the
// check of what it loaded, turning AOF back on.

import { setTimeout as sleep } from 'node:timers/promises';
import { IgbackupError, ProcessFailedError, messageOf } from '../../domain/errors.js';
import * as redis from '../../engines/redis/commands.js';
import { judgeLoad } from '../../engines/redis/restore-checks.js';
import type { RedisConfig } from '../../config/schema.js';
import { capture } from '../../transports/run.js';
import { succeeded, type Transport } from '../../transports/transport.js';
import { shJoin } from '../../transports/wrapper.js';
import type { AppContext } from '../context.js';
import { redisAnswers, redisCli, redisInfo } from './common.js';
import { waitUntil } from '../wait.js';

/**
 * The stop (restore.stop, or SHUTDOWN SAVE, which saves first: if that save fails Redis 7 refuses and keeps running,
 * and this fails with nothing changed). A cancel while it runs counts as a stop if Redis went down meanwhile, so that
 * the plan's undo starts it again.
 */
export async function stopRedis(
  ctx: AppContext,
  t: Transport,
  conn: redis.RedisConnection,
  cfg: RedisConfig,
): Promise<void> {
  const restore = cfg.restore as NonNullable<RedisConfig['restore']>;
  const r = await capture(t, restore.stop ? { argv: restore.stop } : redis.shutdownSaveCommand(conn)).catch(
    async (err: unknown) => {
      if (await redisAnswers(t, conn)) throw err; // (a PING waits while a SHUTDOWN SAVE is still saving)
      return undefined;
    },
  );
  if (!r) return;
  // SHUTDOWN closes the connection: judge by the answer (an error means it refused) and whether the server is gone.
  if (!restore.stop && /^(ERR|NOPERM|NOAUTH)/m.test(r.stdout.trim())) {
    throw new IgbackupError(`Redis refused to shut down: ${r.stdout.trim()}`, {
      hint: "SHUTDOWN SAVE fails when Redis cannot write its dump (disk space, permissions of its dir: see Redis's log) or when the user may not run SHUTDOWN (ACL)",
    });
  }
  await waitUntil(
    'Redis shutdown',
    restore.loadTimeoutSec * 1000,
    async () => !(await redisAnswers(t, conn)),
    200,
    ctx.signal,
  ).catch((e: unknown) => {
    if (ctx.signal?.aborted) throw e;
    throw new IgbackupError(`Redis still answered ${restore.loadTimeoutSec} s after the stop command`, {
      cause: e,
      hint: 'it may still be saving a large dataset and stop later: check whether it runs (and start it if it stopped), then retry with a larger restore.loadTimeoutSec',
    });
  });
}

/** How long a Redis whose start was cut short is watched for coming up late (a daemon forked before the kill). */
const SETTLE_MS = 1000;

/**
 * Stops whatever Redis answers (the restored data must not be saved: restore.stop, or SHUTDOWN NOSAVE FORCE), twice
 * SETTLE_MS apart; true if one answered. A refused stop fails at once (no wait for a server that stays).
 */
export async function stopStarted(
  t: Transport,
  conn: redis.RedisConnection,
  stop: string[] | undefined,
  timeoutMs: number,
): Promise<boolean> {
  let found = false;
  for (const pause of [0, SETTLE_MS]) {
    await sleep(pause);
    if (!(await redisAnswers(t, conn))) continue;
    found = true;
    let r = await capture(t, stop ? { argv: stop } : redis.shutdownNoSaveCommand(conn));
    if (!stop && /^ERR syntax error/.test(r.stdout.trim()))
      r = await capture(t, redis.shutdownNoSaveCommand(conn, false)); // Redis < 7: no FORCE
    const refused = stop ? !succeeded(r) : /^(ERR|NOPERM|NOAUTH|WRONGPASS)/.test(r.stdout.trim());
    if (refused && (await redisAnswers(t, conn))) {
      throw new IgbackupError(
        `${stop ? shJoin(stop) : 'SHUTDOWN NOSAVE FORCE'} was refused: ${`${r.stdout.trim()} ${r.stderrTail.trim()}`.trim()}`,
      );
    }
    // SHUTDOWN closes the connection: judged by whether the server goes
    await waitUntil('Redis to stop', timeoutMs, async () => !(await redisAnswers(t, conn)));
  }
  return found;
}

/** The error of an undo on one line (the recovery notes show the first line only): "sh exited with code 1: refused". */
export function oneLine(e: unknown): Error {
  return new IgbackupError(
    messageOf(e)
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .join(' '),
    { cause: e },
  );
}

export interface LoadResult {
  /** Keys in all databases (INFO keyspace). */
  keys: number;
  /** Fewer keys than the backup, but no more than those with a TTL. */
  warning?: string | undefined;
}

/** What Redis holds right after the load against what redis-check-rdb read; a failed load throws (the plan undoes). */
export async function checkLoad(
  t: Transport,
  conn: redis.RedisConnection,
  backup: redis.RdbSummary,
): Promise<LoadResult> {
  const keyspace = await redisInfo(t, conn, 'keyspace');
  const stats = await redisInfo(t, conn, 'stats');
  const memory = await redisInfo(t, conn, 'memory');
  const got = {
    keys: redis.keyspaceKeys(keyspace),
    evicted: Number(stats.evicted_keys ?? 0),
    usedMemory: Number(memory.used_memory ?? 0),
    notCounted: Number(memory.mem_not_counted_for_evict ?? 0),
    maxmemory: Number(memory.maxmemory ?? 0),
    policy: memory.maxmemory_policy ?? 'unknown',
  };
  const v = judgeLoad(backup, got);
  if (v.problem) throw new IgbackupError(`the restore failed: ${v.problem}`, { hint: v.hint });
  return { keys: got.keys, warning: v.warning };
}

/**
 * CONFIG SET appendonly yes, then waits for the rewrite that writes the whole dataset into a new AOF: done when
 * aof_rewrites (Redis >= 7) grew with a good status; a failed rewrite (Redis retries it later) fails at once.
 */
export async function aofBackOn(
  ctx: AppContext,
  t: Transport,
  conn: redis.RedisConnection,
  timeoutMs: number,
): Promise<void> {
  const before = (await redisInfo(t, conn, 'persistence')).aof_rewrites;
  await redisCli(t, conn, 'CONFIG', 'SET', 'appendonly', 'yes').catch((err: unknown) => {
    throw new IgbackupError(`Redis could not turn AOF back on: ${messageOf(err).split('\n').slice(-1)[0]}`, {
      cause: err,
      hint: "see Redis's log: it must be able to create files in its appenddirname directory (under its dir) and to fork for the rewrite",
    });
  });
  await waitUntil(
    'AOF rewrite',
    timeoutMs,
    async () => {
      const p = await redisInfo(t, conn, 'persistence');
      if (p.aof_rewrite_in_progress !== '0') return false;
      if (p.aof_last_bgrewrite_status !== 'ok' || Number(p.aof_rewrites_consecutive_failures ?? 0) > 0) {
        throw new ProcessFailedError('AOF rewrite', {
          exitCode: 1,
          signal: undefined,
          stderrTail: `aof_last_bgrewrite_status:${p.aof_last_bgrewrite_status} (see Redis's log)`,
        });
      }
      const rewritten = before === undefined || Number(p.aof_rewrites) > Number(before);
      return rewritten && p.aof_rewrite_scheduled === '0' && p.aof_enabled === '1';
    },
    200,
    ctx.signal,
  );
}
