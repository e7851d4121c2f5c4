// Throwaway redis-server 7 instances on 127.0.0.1 for the Redis tests: own port, dir and config file.

import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { freePort } from '../../src/app/ports.js';
import { scratchDir } from './tmp.js';

export { freePort };

export interface RedisInstance {
  port: number;
  dir: string;
  conf: string;
  /** argv that starts this instance (daemonized). */
  start: string[];
  cli(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** `extra`: more config lines (maxmemory, …); `owner`: the instance runs as that user and owns its dir (`start` does not switch user). */
export async function startRedis(
  opts: { appendonly?: boolean; password?: string; owner?: string; syncDelay?: number; extra?: string[] } = {},
): Promise<RedisInstance> {
  const port = await freePort();
  const dir = await scratchDir('igb-redis-');
  await chmod(dir, 0o777);
  const conf = join(dir, 'redis.conf');
  await writeFile(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      'protected-mode no',
      `dir ${dir}`,
      'dbfilename dump.rdb',
      `appendonly ${opts.appendonly ? 'yes' : 'no'}`,
      'appenddirname appendonlydir',
      'daemonize yes',
      `pidfile ${dir}/redis.pid`,
      `logfile ${dir}/redis.log`,
      'save 3600 1 300 100 60 10000',
      `repl-diskless-sync-delay ${opts.syncDelay ?? 0}`,
      'enable-debug-command yes',
      ...(opts.password ? [`requirepass ${opts.password}`] : []),
      ...(opts.extra ?? []),
      '',
    ].join('\n'),
  );
  await chmod(conf, 0o666);
  const env = opts.password ? { REDISCLI_AUTH: opts.password } : {};
  const cli = async (...args: string[]): Promise<string> =>
    (
      await execa('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--no-auth-warning', ...args], { env })
    ).stdout.trim();
  const start = ['redis-server', conf];
  if (opts.owner) await execa('chown', ['-R', opts.owner, dir]);
  if (opts.owner) await execa('runuser', ['-u', opts.owner, '--', ...start]);
  else await execa(start[0] as string, start.slice(1));
  for (let i = 0; i < 100; i++) {
    if ((await cli('PING').catch(() => '')) === 'PONG') break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    dir,
    conf,
    start,
    cli,
    stop: async () => {
      await cli('SHUTDOWN', 'NOSAVE').catch(() => undefined);
    },
  };
}

/** Fills the instance with `n` keys of each type: strings, hashes, lists, sets, sorted sets (and a few with TTLs). */
export async function fillRedis(r: RedisInstance, n: number): Promise<void> {
  const script = `
    for i = 1, tonumber(ARGV[1]) do
      redis.call('SET', 's:' .. i, 'value-' .. i)
      redis.call('HSET', 'h:' .. i, 'a', i, 'b', 'x' .. i)
      redis.call('RPUSH', 'l:' .. i, 'one', 'two', i)
      redis.call('SADD', 'set:' .. i, 'p', 'q', i)
      redis.call('ZADD', 'z:' .. i, i, 'm' .. i, i * 2, 'n' .. i)
    end
    redis.call('SET', 'ttl:1', 'keep', 'EX', 86400)
    return redis.call('DBSIZE')`;
  await r.cli('EVAL', script, '0', String(n));
}

/** DEBUG DIGEST: one hash over the whole dataset (the test config enables DEBUG). */
export async function digest(r: RedisInstance): Promise<string> {
  return r.cli('DEBUG', 'DIGEST');
}
