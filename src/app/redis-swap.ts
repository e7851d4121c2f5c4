// The destructive part of a Redis restore: stop (the state saved), replace the RDB (AOF-aware), start; on any failure
// the saved state and config are put back and Redis started again, or a ServiceDownError says it is down and how to fix.

import { posix } from 'node:path';
import { IgbackupError, ProcessFailedError, ServiceDownError } from '../domain/errors.js';
import * as files from '../engines/files.js';
import * as redis from '../engines/redis.js';
import type { RedisConfig } from '../config/schema.js';
import { decompressStage } from '../pipeline/compress.js';
import { feedFile } from '../pipeline/restore-stream.js';
import { capture, captureOk } from '../transports/run.js';
import type { CommandSpec, Transport } from '../transports/transport.js';
import { shJoin } from '../transports/wrapper.js';
import type { AppContext } from './context.js';
import { redisCli, redisInfo, redisReady } from './redis-common.js';
import { waitUntil } from './wait.js';

export interface SwapInput {
  transport: Transport;
  conn: redis.RedisConnection;
  cfg: RedisConfig;
  rdbPath: string;
  plain: string;
  aof: boolean;
  stamp: string;
}

type Done = 'stopped' | 'saved-old-dump' | 'placed-new-dump' | 'aof-disabled-in-config' | 'started' | 'config-restored';

/** Stop (the default SHUTDOWN SAVE saves first), keep the dump aside, replace, start (AOF-aware); recover on failure. */
export async function swapRdb(ctx: AppContext, s: SwapInput): Promise<{ dbsize: number; aside: string }> {
  const restore = s.cfg.restore as NonNullable<RedisConfig['restore']>;
  const run = (spec: CommandSpec): Promise<string> => captureOk(s.transport, spec);
  const aside = `${s.rdbPath}.igbackup-${s.stamp}`;
  const configFile = s.aof ? restore.configFile : undefined;
  const loadTimeout = restore.loadTimeoutSec * 1000;
  const done: Done[] = [];
  try {
    await stopRedis(ctx, s, restore);
    done.push('stopped');
    await run(files.copyIfExistsCommand(s.rdbPath, aside));
    done.push('saved-old-dump');
    ctx.reporter.step(`writing the restored RDB to ${s.rdbPath}`);
    const writer = s.transport.start(files.placeFileCommand(s.rdbPath));
    writer.stdout.resume();
    await feedFile(s.plain, decompressStage('none', ctx.runner), writer);
    done.push('placed-new-dump');
    if (configFile) {
      await run(redis.disableAofInConfigCommand(configFile));
      done.push('aof-disabled-in-config');
    }
    ctx.reporter.step(`starting Redis${s.aof ? ' with appendonly no (to load the RDB)' : ''}`);
    await run({ argv: restore.start });
    await waitUntil('Redis start and RDB load', loadTimeout, () => redisReady(s.transport, s.conn));
    done.push('started');
    if (configFile) {
      await aofBackOn(ctx, s, loadTimeout);
      await run(redis.restoreConfigCommand(configFile));
      done.push('config-restored');
    }
    const dbsize = Number((await redisCli(s.transport, s.conn, 'DBSIZE')).trim());
    return { dbsize, aside };
  } catch (err) {
    throw await recover(ctx, s, err, { done, aside, configFile, start: restore.start });
  }
}

/** The stop; a refused SHUTDOWN SAVE (the save failed: Redis 7 then keeps running) fails here, nothing changed. */
async function stopRedis(ctx: AppContext, s: SwapInput, restore: NonNullable<RedisConfig['restore']>): Promise<void> {
  ctx.reporter.step(`stopping Redis ${s.cfg.host}:${s.cfg.port}${restore.stop ? '' : ' (SHUTDOWN SAVE: the current dataset is saved first)'}`);
  const r = await capture(s.transport, restore.stop ? { argv: restore.stop } : redis.shutdownSaveCommand(s.conn));
  // SHUTDOWN closes the connection: judge by the answer (an error means it refused) and whether the server is gone.
  if (!restore.stop && /^(ERR|NOPERM|NOAUTH)/m.test(r.stdout.trim())) {
    throw new IgbackupError(`Redis refused to shut down: ${r.stdout.trim()}`, {
      hint: "SHUTDOWN SAVE fails when Redis cannot write its dump (disk space, permissions of its dir: see Redis's log) or when the user may not run SHUTDOWN (ACL)",
    });
  }
  await waitUntil('Redis shutdown', restore.loadTimeoutSec * 1000, async () => !(await redisReady(s.transport, s.conn))).catch((e: unknown) => {
    throw new IgbackupError(`Redis still answered ${restore.loadTimeoutSec} s after the stop command; igbackup changed nothing`, {
      cause: e,
      hint: 'it may still be saving a large dataset and stop later: check whether it runs (and start it if it stopped), then retry with a larger restore.loadTimeoutSec',
    });
  });
}

async function aofBackOn(ctx: AppContext, s: SwapInput, timeoutMs: number): Promise<void> {
  ctx.reporter.step('turning AOF back on and waiting for the rewrite');
  await redisCli(s.transport, s.conn, 'CONFIG', 'SET', 'appendonly', 'yes');
  await waitUntil('AOF rewrite', timeoutMs, async () => {
    const p = await redisInfo(s.transport, s.conn, 'persistence');
    if (p.aof_rewrite_in_progress !== '0' || p.aof_rewrite_scheduled !== '0' || p.aof_enabled !== '1') return false;
    if (p.aof_last_bgrewrite_status !== 'ok') throw new ProcessFailedError('AOF rewrite', { exitCode: 1, signal: undefined, stderrTail: `aof_last_bgrewrite_status:${p.aof_last_bgrewrite_status}` });
    return true;
  });
}

interface RecoverState {
  done: Done[];
  aside: string;
  configFile?: string | undefined;
  start: string[];
}

/**
 * Brings Redis back: the original config, the dump saved at the stop (when the new one was placed), then a start.
 * Returns the error to throw: the first failure with the recovery notes, or a ServiceDownError when Redis stays down.
 */
async function recover(ctx: AppContext, s: SwapInput, err: unknown, r: RecoverState): Promise<unknown> {
  const notes: string[] = [];
  const todo: string[] = []; // what the operator still has to run when Redis stays down
  const step = async (what: string, fn: () => Promise<unknown>, manual?: string[]): Promise<void> => {
    try {
      await fn();
      notes.push(`${what}: ok`);
    } catch (e) {
      notes.push(`${what}: FAILED (${(e as Error).message.split('\n').slice(0, 2).join(' ').trim()})`);
      if (manual) todo.push(shJoin(manual));
    }
  };
  if (!r.done.includes('stopped')) return withNotes(err, ctx, ['Redis was not stopped; nothing was changed']);
  if (r.done.includes('aof-disabled-in-config') && !r.done.includes('config-restored') && r.configFile) {
    const conf = r.configFile;
    await step('put the original config file back', () => captureOk(s.transport, redis.restoreConfigCommand(conf)), ['mv', '-f', `${conf}.igbackup-orig`, conf]);
  }
  if (await redisReady(s.transport, s.conn).catch(() => false)) {
    notes.push(r.done.includes('started') ? 'Redis is running with the restored data' : 'Redis is running (started by something else, e.g. its supervisor)');
    return withNotes(err, ctx, notes);
  }
  const name = posix.basename(s.rdbPath);
  if (!r.done.includes('placed-new-dump')) {
    // a write that failed midway (e.g. no space left) leaves its temp file: remove it, Redis never reads it
    await capture(s.transport, files.removePartialPlaceCommand(s.rdbPath)).catch(() => undefined);
  }
  if (r.done.includes('placed-new-dump')) {
    await step(`put the previous ${name} back`, () =>
      captureOk(s.transport, files.moveCommand(r.aside, s.rdbPath)).catch(async () => {
        // no previous dump existed: move the new one away so Redis starts as it was
        await captureOk(s.transport, files.moveCommand(s.rdbPath, `${s.rdbPath}.igbackup-failed`));
      }), ['mv', '-f', r.aside, s.rdbPath]);
  }
  await step('start Redis', async () => {
    await captureOk(s.transport, { argv: r.start });
    await waitUntil('Redis start', (s.cfg.restore?.loadTimeoutSec ?? 600) * 1000, () => redisReady(s.transport, s.conn));
  });
  if (await redisReady(s.transport, s.conn).catch(() => false)) {
    const saved = s.cfg.restore?.stop ? 'saved by BGSAVE just before the stop (and by the stop command, if it saves)' : 'saved by SHUTDOWN SAVE: every write up to the stop';
    notes.push(s.aof ? 'Redis loaded its AOF, untouched by the restore: the state at the stop' : `Redis runs the previous ${name}, ${saved}`);
    return withNotes(err, ctx, notes);
  }
  ctx.reporter.warn(`restore failed and Redis is DOWN; recovery: ${notes.join('; ')}`);
  return new ServiceDownError(`Redis ${s.cfg.host}:${s.cfg.port}`, {
    cause: err,
    commands: [...todo, shJoin(r.start)],
    recovery: notes,
    hint: `on ${s.transport.host}, run: ${[...todo, shJoin(r.start)].join(' && ')} (then check Redis's log for why it did not start)`,
  });
}

function withNotes(err: unknown, ctx: AppContext, notes: string[]): unknown {
  ctx.reporter.warn(`restore failed; recovery: ${notes.join('; ')}`);
  if (err instanceof Error) err.message = `${err.message}\nrecovery: ${notes.join('; ')}`;
  return err;
}
