// Before a Redis restore stops anything: that Redis answers and where it keeps its files, the read-only preflight
// (paths, commands, ACL permissions, CONFIG SET, whether the backup can fit maxmemory), and the save that makes the
// copy kept aside the state at the moment of the restore.

import { ConfigError, IgbackupError, messageOf } from '../../domain/errors.js';
import * as files from '../../engines/files.js';
import * as redis from '../../engines/redis/commands.js';
import { backupCannotFit } from '../../engines/redis/restore-checks.js';
import type { RedisConfig } from '../../config/schema.js';
import { capture, captureOk } from '../../transports/run.js';
import type { Transport } from '../../transports/transport.js';
import { shJoin } from '../../transports/wrapper.js';
import type { AppContext } from '../context.js';
import { bgsaveAndWait, redisCli, redisInfo } from './common.js';

type RestoreConfig = NonNullable<RedisConfig['restore']>;

export interface RedisFiles {
  dir: string;
  rdbPath: string;
  aof: boolean;
  /** With AOF on: restore.configFile with symlinks resolved on the host (the file igbackup rewrites). */
  configFile?: string | undefined;
}

/** PING first (a Redis that does not answer is exit 2 with what to do), then CONFIG GET dir, dbfilename, appendonly. */
export async function redisFiles(
  transport: Transport,
  conn: redis.RedisConnection,
  cfg: RedisConfig,
  envName: string,
): Promise<RedisFiles> {
  await requireRunning(transport, conn, cfg);
  const get = async (name: string): Promise<string | undefined> =>
    redis.parseConfigGet(await redisCli(transport, conn, 'CONFIG', 'GET', name))[name];
  const dir = await get('dir');
  const dbfilename = await get('dbfilename');
  if (!dir || !dbfilename)
    throw new ConfigError('Redis did not answer CONFIG GET dir/dbfilename (CONFIG renamed or forbidden?)');
  const aof = (await get('appendonly')) === 'yes';
  const configured = cfg.restore?.configFile;
  if (aof && !configured) {
    throw new ConfigError(
      `Redis at ${cfg.host}:${cfg.port} runs with appendonly yes: set envs.${envName}.redis.restore.configFile`,
      [],
      {
        hint: 'with AOF on, Redis would load the AOF and ignore the restored RDB; igbackup starts it once with appendonly no, then turns AOF back on',
      },
    );
  }
  const real = aof && configured ? (await capture(transport, files.realPathCommand(configured))).stdout.trim() : '';
  return {
    dir,
    rdbPath: `${dir.replace(/\/+$/, '')}/${dbfilename}`,
    aof,
    configFile: aof ? real || configured : undefined,
  };
}

/** A Redis that does not answer: exit 2 before anything, saying why igbackup needs it running. */
async function requireRunning(transport: Transport, conn: redis.RedisConnection, cfg: RedisConfig): Promise<void> {
  const r = await capture(transport, redis.cli(conn, 'PING'));
  const said = `${r.stdout}\n${r.stderrTail}`;
  if (!/Could not connect|Connection refused|Connection reset|No route to host/i.test(said)) return;
  const start = cfg.restore ? ` (restore.start: ${shJoin(cfg.restore.start)})` : '';
  throw new ConfigError(
    `Redis at ${cfg.host}:${cfg.port} does not answer (${said.trim().split('\n')[0]}): nothing was changed and nothing downloaded`,
    [],
    {
      hint: `start it first${start} and run the restore again: igbackup restores into a running Redis — it reads dir and dbfilename from it and saves its current state before stopping it, so that a failed restore can bring that state back`,
    },
  );
}

/**
 * Everything the restore will need, checked while nothing has changed (no write, no stop): Redis's dir and the
 * current dump, the config file and its directory (AOF on), the start and stop commands, all as the transport's
 * user; the ACL permissions of Redis's user for the commands the restore sends; with AOF on, CONFIG SET (`CONFIG SET
 * appendonly yes` while it is yes changes nothing). Throws a ConfigError listing every problem.
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
    configFile: target.configFile,
    start: restore.start,
    stop: restore.stop,
  });
  const problems = files.pathProblems(
    checks,
    await captureOk(transport, files.pathChecksCommand(checks)),
    transport.host,
  );
  problems.push(...(await aclProblems(ctx, transport, conn, restore)));
  if (target.aof) {
    await redisCli(transport, conn, 'CONFIG', 'SET', 'appendonly', 'yes').catch((e: unknown) => {
      problems.push(
        `CONFIG SET is refused (${messageOf(e).split('\n').slice(-1)[0]}): with AOF on the restore starts Redis with appendonly no and turns it back on with CONFIG SET appendonly yes; allow CONFIG for the restore's user (ACL +config|set) or restore with AOF off`,
      );
    });
  }
  if (problems.length) {
    throw new ConfigError(
      `the restore cannot run on ${transport.host}: ${problems.length} problem(s), nothing was changed and nothing downloaded`,
      problems,
      {
        hint: 'fix each problem listed (each says how), then run the restore again; Redis keeps running untouched',
      },
    );
  }
}

/**
 * The user redis-cli is logged in as (ACL WHOAMI: redis-cli goes on as "default" when the configured user's AUTH
 * fails) and, with ACL DRYRUN (Redis >= 7), whether it may run each command of the restore. A server that refuses
 * ACL DRYRUN itself cannot tell: that is said, and a refused command then fails before anything is changed.
 */
async function aclProblems(
  ctx: AppContext,
  transport: Transport,
  conn: redis.RedisConnection,
  restore: RestoreConfig,
): Promise<string[]> {
  const ask = (...args: string[]): Promise<string | undefined> =>
    redisCli(transport, conn, ...args).then(
      (s) => s.trim(),
      () => undefined,
    );
  const problems: string[] = [];
  const who = await ask('ACL', 'WHOAMI');
  if (who && conn.user && who !== conn.user) {
    problems.push(
      `redis-cli is logged in as "${who}", not as the configured user "${conn.user}": AUTH failed (a wrong redis.password, or the user is disabled) and redis-cli went on as "${who}"; fix the password or the user`,
    );
  }
  const user = who ?? conn.user ?? 'default';
  for (const command of redis.restoreCommands({ shutdown: !restore.stop })) {
    const answer = await ask('ACL', 'DRYRUN', user, ...command);
    if (answer === undefined) {
      ctx.reporter.warn(
        `could not check the ACL permissions of "${user}" (ACL DRYRUN is refused or unknown): a command it may not run will fail before Redis is stopped`,
      );
      break;
    }
    if (answer !== 'OK') {
      const name = (command[0] as string).toLowerCase();
      problems.push(
        `Redis's user "${user}" may not run ${command.join(' ')} (ACL DRYRUN: ${answer}): the restore needs it; allow it (ACL SETUSER ${user} +${name}) or restore as a user who may`,
      );
    }
  }
  return problems;
}

/**
 * After the download, before anything is stopped: refuses (exit 2) a backup that obviously cannot fit maxmemory — in
 * memory a dataset takes at least its RDB's size. Anything less certain is judged after the load, by what Redis holds.
 */
export async function preflightMemory(
  transport: Transport,
  conn: redis.RedisConnection,
  rdbBytes: number,
): Promise<void> {
  const m = await redisInfo(transport, conn, 'memory');
  const limit = { maxmemory: Number(m.maxmemory ?? 0), policy: m.maxmemory_policy ?? 'unknown' };
  const problem = backupCannotFit(rdbBytes, Number(m.used_memory_startup ?? 0), limit);
  if (problem) {
    throw new ConfigError(`the restore cannot run: ${problem}`, [], {
      hint: 'nothing was changed: Redis keeps running untouched; the backup was downloaded and verified, nothing else',
    });
  }
}

/**
 * Saves the current dataset (BGSAVE, waited for) before the stop, so that the dump kept aside holds the writes made
 * since the last scheduled save; the default stop (SHUTDOWN SAVE) saves once more at the very end. A failure here
 * stops the restore with Redis still running and nothing changed.
 */
export async function persistBeforeStop(
  ctx: AppContext,
  transport: Transport,
  conn: redis.RedisConnection,
  restore: RestoreConfig,
): Promise<void> {
  ctx.reporter.step('saving the current dataset (BGSAVE) before stopping Redis');
  try {
    await bgsaveAndWait(ctx, transport, conn, restore.loadTimeoutSec * 1000);
  } catch (err) {
    throw new IgbackupError(
      `could not save Redis's current dataset before the restore: ${messageOf(err)}\nRedis was not stopped; nothing was changed`,
      {
        cause: err,
        hint: "check Redis's log (disk space, permissions of its dir) and INFO persistence (rdb_last_bgsave_status); the restore keeps the current state aside only once it can be saved",
      },
    );
  }
}
