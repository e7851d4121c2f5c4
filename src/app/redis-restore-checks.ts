// Before a Redis restore stops anything: where Redis keeps its files, the read-only preflight (paths, commands,
// CONFIG SET), and the save that makes the copy kept aside the state at the moment of the restore.

import { ConfigError, IgbackupError, messageOf } from '../domain/errors.js';
import * as files from '../engines/files.js';
import * as redis from '../engines/redis.js';
import type { RedisConfig } from '../config/schema.js';
import { captureOk } from '../transports/run.js';
import type { Transport } from '../transports/transport.js';
import type { AppContext } from './context.js';
import { bgsaveAndWait, redisCli } from './redis-common.js';

type RestoreConfig = NonNullable<RedisConfig['restore']>;

export interface RedisFiles {
  dir: string;
  rdbPath: string;
  aof: boolean;
}

/** CONFIG GET dir, dbfilename and appendonly; with AOF on, restore.configFile is required. */
export async function redisFiles(transport: Transport, conn: redis.RedisConnection, cfg: RedisConfig, envName: string): Promise<RedisFiles> {
  const get = async (name: string): Promise<string | undefined> => redis.parseConfigGet(await redisCli(transport, conn, 'CONFIG', 'GET', name))[name];
  const dir = await get('dir');
  const dbfilename = await get('dbfilename');
  if (!dir || !dbfilename) throw new ConfigError('Redis did not answer CONFIG GET dir/dbfilename (CONFIG renamed or forbidden?)');
  const aof = (await get('appendonly')) === 'yes';
  if (aof && !cfg.restore?.configFile) {
    throw new ConfigError(`Redis at ${cfg.host}:${cfg.port} runs with appendonly yes: set envs.${envName}.redis.restore.configFile`, [], {
      hint: 'with AOF on, Redis would load the AOF and ignore the restored RDB; igbackup starts it once with appendonly no, then turns AOF back on',
    });
  }
  return { dir, rdbPath: `${dir.replace(/\/+$/, '')}/${dbfilename}`, aof };
}

/**
 * Everything the restore will need, checked while nothing has changed (no write, no stop): Redis's dir and the
 * current dump, the config file and its directory (AOF on), the start and stop commands, all as the transport's
 * user; and with AOF on, CONFIG SET (`CONFIG SET appendonly yes` while it is yes changes nothing). Throws a
 * ConfigError listing every problem.
 */
export async function preflightRedisRestore(
  ctx: AppContext,
  transport: Transport,
  conn: redis.RedisConnection,
  restore: RestoreConfig,
  target: RedisFiles,
): Promise<void> {
  ctx.reporter.step(`checking what the restore needs on ${transport.host} (nothing is changed)`);
  const checks = redis.restorePathChecks({
    dir: target.dir,
    rdbPath: target.rdbPath,
    configFile: target.aof ? restore.configFile : undefined,
    start: restore.start,
    stop: restore.stop,
  });
  const problems = files.pathProblems(checks, await captureOk(transport, files.pathChecksCommand(checks)), transport.host);
  if (target.aof) {
    await redisCli(transport, conn, 'CONFIG', 'SET', 'appendonly', 'yes').catch((e: unknown) => {
      problems.push(
        `CONFIG SET is refused (${messageOf(e).split('\n').slice(-1)[0]}): with AOF on the restore starts Redis with appendonly no and turns it back on with CONFIG SET appendonly yes; allow CONFIG for the restore's user (ACL +config|set) or restore with AOF off`,
      );
    });
  }
  if (problems.length) {
    throw new ConfigError(`the restore cannot run on ${transport.host}: ${problems.length} problem(s), nothing was changed and nothing downloaded`, problems, {
      hint: 'fix each problem listed (each says how), then run the restore again; Redis keeps running untouched',
    });
  }
}

/**
 * Saves the current dataset (BGSAVE, waited for) before the stop, so that the dump kept aside holds the writes made
 * since the last scheduled save; the default stop (SHUTDOWN SAVE) saves once more at the very end. A failure here
 * stops the restore with Redis still running and nothing changed.
 */
export async function persistBeforeStop(ctx: AppContext, transport: Transport, conn: redis.RedisConnection, restore: RestoreConfig): Promise<void> {
  ctx.reporter.step('saving the current dataset (BGSAVE) before stopping Redis');
  try {
    await bgsaveAndWait(ctx, transport, conn, restore.loadTimeoutSec * 1000);
  } catch (err) {
    throw new IgbackupError(`could not save Redis's current dataset before the restore: ${messageOf(err)}\nRedis was not stopped; nothing was changed`, {
      cause: err,
      hint: "check Redis's log (disk space, permissions of its dir) and INFO persistence (rdb_last_bgsave_status); the restore keeps the current state aside only once it can be saved",
    });
  }
}
