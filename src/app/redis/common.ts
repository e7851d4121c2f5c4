// Shared Redis plumbing for the use cases: connection from config, redis-cli calls that must succeed, waits.

import { IgbackupError, ProcessFailedError } from '../../domain/errors.js';
import type { RedisConfig } from '../../config/schema.js';
import type { Engine } from '../../engines/engine.js';
import { redisConnection as engineConnection } from '../../engines/redis/index.js';
import { ENGINE_REGISTRY } from '../../engines/registry.js';
import { resolvePassword, sectionOf } from '../engine-section.js';
import * as redis from '../../engines/redis/commands.js';
import { capture } from '../../transports/run.js';
import { succeeded, type Transport } from '../../transports/transport.js';
import type { AppContext, EnvHandle } from '../context.js';
import { waitUntil } from '../wait.js';

/** The env's redis section (a config error when it has none). */
export function redisSection(ctx: AppContext, h: EnvHandle): RedisConfig {
  return sectionOf(ctx, h, 'redis');
}

/** How redis-cli connects, the password resolved. */
export async function redisConnection(ctx: AppContext, h: EnvHandle, cfg: RedisConfig): Promise<redis.RedisConnection> {
  return engineConnection(cfg, await resolvePassword(ctx, h, ENGINE_REGISTRY.redis as Engine, cfg));
}

/** Runs redis-cli with args; returns stdout or throws with redis-cli's message (errors arrive on stdout too). */
export async function redisCli(transport: Transport, conn: redis.RedisConnection, ...args: string[]): Promise<string> {
  const r = await capture(transport, redis.cli(conn, ...args));
  const out = r.stdout.trim();
  if (succeeded(r) && redis.ERROR_ANSWER.test(out))
    throw new IgbackupError(
      `redis-cli ${args[0] ?? ''}: Redis answered with an error:\n${out.split('\n').slice(-2).join(' ')}`,
      {
        hint: /WRONGPASS|NOAUTH/.test(out)
          ? 'the login was refused: check the password (and user) the redis section references'
          : undefined,
      },
    );
  if (!succeeded(r) || redis.ERROR_ANSWER.test(out)) {
    throw new ProcessFailedError(`redis-cli ${args[0] ?? ''}`.trim(), {
      ...r,
      stderrTail: `${r.stderrTail}\n${out}`.trim(),
    });
  }
  return r.stdout;
}

export async function redisInfo(
  transport: Transport,
  conn: redis.RedisConnection,
  section: string,
): Promise<Record<string, string>> {
  return redis.parseInfo(await redisCli(transport, conn, 'INFO', section));
}

/** True when a server answers at all (PONG, or an error such as LOADING): a process listens on its port. */
export async function redisAnswers(transport: Transport, conn: redis.RedisConnection): Promise<boolean> {
  const r = await capture(transport, redis.cli(conn, 'PING'));
  return (
    r.stdout.trim() !== '' &&
    !/Could not connect|Connection refused|Connection reset/i.test(`${r.stdout}\n${r.stderrTail}`)
  );
}

/** True when the server answers PING with PONG and is not loading. */
export async function redisReady(transport: Transport, conn: redis.RedisConnection): Promise<boolean> {
  const r = await capture(transport, redis.cli(conn, 'PING'));
  if (!succeeded(r) || r.stdout.trim() !== 'PONG') return false;
  const info = await redisInfo(transport, conn, 'persistence').catch(() => undefined);
  return info !== undefined && info.loading === '0';
}

/**
 * BGSAVE, then wait until a new snapshot is done: rdb_saves grew (Redis >= 7; LASTSAVE has 1 s resolution and does
 * not move when two saves fall in the same second) or, on older servers, LASTSAVE advanced; with a good status.
 */
export async function bgsaveAndWait(
  ctx: AppContext,
  transport: Transport,
  conn: redis.RedisConnection,
  timeoutMs: number,
): Promise<void> {
  const before = await redisInfo(transport, conn, 'persistence');
  const savesBefore = before.rdb_saves;
  const last = (await redisCli(transport, conn, 'LASTSAVE')).trim();
  const answer = (await redisCli(transport, conn, 'BGSAVE')).trim();
  if (!/Background saving started|scheduled/i.test(answer)) {
    throw new ProcessFailedError('redis-cli BGSAVE', { exitCode: 1, signal: undefined, stderrTail: answer });
  }
  await waitUntil(
    'BGSAVE',
    timeoutMs,
    async () => {
      const p = await redisInfo(transport, conn, 'persistence');
      const advanced =
        savesBefore !== undefined
          ? p.rdb_saves !== savesBefore
          : (await redisCli(transport, conn, 'LASTSAVE')).trim() !== last;
      if (!advanced || p.rdb_bgsave_in_progress !== '0') return false;
      if (p.rdb_last_bgsave_status !== 'ok') {
        throw new ProcessFailedError('BGSAVE', {
          exitCode: 1,
          signal: undefined,
          stderrTail: `rdb_last_bgsave_status:${p.rdb_last_bgsave_status}`,
        });
      }
      return true;
    },
    200,
    ctx.signal,
  );
}
