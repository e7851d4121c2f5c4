// Use case: restore a Redis RDB: verify it, stop Redis, put the RDB in place (AOF-aware), start, check DBSIZE.
// Whatever fails, Redis is brought back up (with the previous dump when the new one does not load).

import { join } from 'node:path';
import { ConfigError, IgbackupError, ProcessFailedError } from '../domain/errors.js';
import { keyTimestamp } from '../domain/keys.js';
import * as files from '../engines/files.js';
import * as redis from '../engines/redis.js';
import { decompressStage } from '../pipeline/compress.js';
import { feedFile, makeWorkspace } from '../pipeline/restore-stream.js';
import { downloadMainArtifact } from './artifact.js';
import { capture, captureOk } from '../transports/run.js';
import { succeeded, type CommandSpec, type Transport } from '../transports/transport.js';
import type { RedisConfig } from '../config/schema.js';
import { ensureBackupReadable, type ArchiveOptions } from './archive.js';
import { resolveBackup } from './catalog.js';
import { requireConfirmation, type ConfirmPolicy } from './confirm.js';
import { withRestoreLock, type RestoreLockOptions } from './lock.js';
import { selectEnv, type AppContext } from './context.js';
import { redisCli, redisConnection, redisInfo, redisReady, redisSection } from './redis-common.js';
import { waitUntil } from './wait.js';
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
    const plain = join(ws.dir, 'dump.rdb');
    const dump = await downloadMainArtifact(ctx, h.store, entry.manifest, plain);
    const keysInBackup = await checkRdb(ctx, plain, cfg.binDir);
    const settings = redis.parseConfigGet(await redisCli(transport, conn, 'CONFIG', 'GET', 'dir'));
    const names = redis.parseConfigGet(await redisCli(transport, conn, 'CONFIG', 'GET', 'dbfilename'));
    const aofCfg = redis.parseConfigGet(await redisCli(transport, conn, 'CONFIG', 'GET', 'appendonly'));
    if (!settings.dir || !names.dbfilename) throw new ConfigError('Redis did not answer CONFIG GET dir/dbfilename (CONFIG renamed or forbidden?)');
    const aof = aofCfg.appendonly === 'yes';
    if (aof && !cfg.restore.configFile) {
      throw new ConfigError(`Redis at ${cfg.host}:${cfg.port} runs with appendonly yes: set envs.${h.name}.redis.restore.configFile`, [], {
        hint: 'with AOF on, Redis would load the AOF and ignore the restored RDB; igbackup starts it once with appendonly no, then turns AOF back on',
      });
    }
    const rdbPath = `${settings.dir.replace(/\/+$/, '')}/${names.dbfilename}`;
    const r = await swapRdb(ctx, { transport, conn, cfg, rdbPath, plain, aof, stamp: keyTimestamp(ctx.now()).replace(/\D/g, '') });
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

interface SwapInput {
  transport: Transport;
  conn: redis.RedisConnection;
  cfg: RedisConfig;
  rdbPath: string;
  plain: string;
  aof: boolean;
  stamp: string;
}

/** Stop, replace, start (AOF-aware); on any failure put the old dump and config back and start Redis again. */
async function swapRdb(ctx: AppContext, s: SwapInput): Promise<{ dbsize: number; aside: string }> {
  const restore = s.cfg.restore as NonNullable<RedisConfig['restore']>;
  const run = (spec: CommandSpec): Promise<string> => captureOk(s.transport, spec);
  const aside = `${s.rdbPath}.igbackup-${s.stamp}`;
  const configFile = restore.configFile;
  const loadTimeout = restore.loadTimeoutSec * 1000;
  const stop: CommandSpec = restore.stop ? { argv: restore.stop } : redis.cli(s.conn, 'SHUTDOWN', 'NOSAVE');
  const start: CommandSpec = { argv: restore.start };
  const done: string[] = [];
  try {
    ctx.reporter.step(`stopping Redis ${s.cfg.host}:${s.cfg.port}`);
    await capture(s.transport, stop); // SHUTDOWN closes the connection: judge by whether the server is gone
    await waitUntil('Redis shutdown', loadTimeout, async () => !(await redisReady(s.transport, s.conn)));
    done.push('stopped');
    await run(files.copyIfExistsCommand(s.rdbPath, aside));
    done.push('saved-old-dump');
    ctx.reporter.step(`writing the restored RDB to ${s.rdbPath}`);
    const writer = s.transport.start(files.placeFileCommand(s.rdbPath));
    writer.stdout.resume();
    await feedFile(s.plain, decompressStage('none', ctx.runner), writer);
    done.push('placed-new-dump');
    if (s.aof && configFile) {
      await run(redis.disableAofInConfigCommand(configFile));
      done.push('aof-disabled-in-config');
    }
    ctx.reporter.step(`starting Redis${s.aof ? ' with appendonly no (to load the RDB)' : ''}`);
    await run(start);
    await waitUntil('Redis start and RDB load', loadTimeout, () => redisReady(s.transport, s.conn));
    done.push('started');
    if (s.aof && configFile) {
      ctx.reporter.step('turning AOF back on and waiting for the rewrite');
      await redisCli(s.transport, s.conn, 'CONFIG', 'SET', 'appendonly', 'yes');
      await waitUntil('AOF rewrite', loadTimeout, async () => {
        const p = await redisInfo(s.transport, s.conn, 'persistence');
        if (p.aof_rewrite_in_progress !== '0' || p.aof_rewrite_scheduled !== '0' || p.aof_enabled !== '1') return false;
        if (p.aof_last_bgrewrite_status !== 'ok') throw new ProcessFailedError('AOF rewrite', { exitCode: 1, signal: undefined, stderrTail: `aof_last_bgrewrite_status:${p.aof_last_bgrewrite_status}` });
        return true;
      });
      await run(redis.restoreConfigCommand(configFile));
      done.push('config-restored');
    }
    const dbsize = Number((await redisCli(s.transport, s.conn, 'DBSIZE')).trim());
    return { dbsize, aside };
  } catch (err) {
    const recovery = await recover(ctx, s, { done, aside, configFile, start });
    if (err instanceof IgbackupError || err instanceof Error) {
      err.message = `${err.message}\nrecovery: ${recovery.join('; ')}`;
    }
    throw err;
  }
}

/** Brings Redis back: previous config, previous dump if the new one was placed, then start. Reports each step. */
async function recover(
  ctx: AppContext,
  s: SwapInput,
  r: { done: string[]; aside: string; configFile?: string | undefined; start: CommandSpec },
): Promise<string[]> {
  const notes: string[] = [];
  const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
    try {
      await fn();
      notes.push(`${what}: ok`);
    } catch (e) {
      notes.push(`${what}: FAILED (${(e as Error).message.split('\n')[0]})`);
    }
  };
  if (!r.done.includes('stopped')) return ['Redis was not stopped; nothing to undo'];
  if (r.done.includes('aof-disabled-in-config') && !r.done.includes('config-restored') && r.configFile) {
    await step('put the original config file back', () => captureOk(s.transport, redis.restoreConfigCommand(r.configFile as string)));
  }
  const running = await redisReady(s.transport, s.conn).catch(() => false);
  if (!running) {
    if (r.done.includes('placed-new-dump')) {
      await step('put the previous dump.rdb back', () => captureOk(s.transport, files.moveCommand(r.aside, s.rdbPath)).catch(async () => {
        // no previous dump existed: move the new one away so Redis starts as it was
        await captureOk(s.transport, files.moveCommand(s.rdbPath, `${s.rdbPath}.igbackup-failed`));
      }));
    }
    await step('start Redis', async () => {
      await captureOk(s.transport, r.start);
      await waitUntil('Redis start', (s.cfg.restore?.loadTimeoutSec ?? 600) * 1000, () => redisReady(s.transport, s.conn));
    });
  } else notes.push('Redis is running');
  ctx.reporter.warn(`restore failed; recovery: ${notes.join('; ')}`);
  return notes;
}
