// Use case `redis heartbeat` (scheduled every minute for a Redis at a tight tier): sets the env's heartbeat key to the
// time on the primary (its TIME), and fails unless the write was acknowledged. A backup records the beat its source (the replica) held; a drill reads it back from the
// restored data: the RPO measured, replication lag included.

import { ProcessFailedError } from '../../domain/errors.js';
import { selectEnv, type AppContext } from '../context.js';
import { openTransport } from '../transports.js';
import { redisCli, redisConnection, redisSection } from './common.js';

export async function redisHeartbeat(
  ctx: AppContext,
  opts: { env: string },
): Promise<{ env: string; key: string; at: string }> {
  const h = selectEnv(ctx, opts.env);
  const cfg = redisSection(ctx, h);
  const conn = await redisConnection(ctx, h, cfg);
  const transport = await openTransport(ctx, cfg.transport, `envs.${h.name}.redis`);
  try {
    // The primary's own clock (TIME: seconds, microseconds), not this runner's.
    const [sec, usec] = (await redisCli(transport, conn, 'TIME')).trim().split(/\s+/).map(Number);
    if (!Number.isFinite(sec) || !Number.isFinite(usec))
      throw new ProcessFailedError('redis-cli TIME', {
        exitCode: 0,
        signal: undefined,
        stderrTail: 'no time in the answer',
      });
    const at = new Date((sec as number) * 1000 + Math.floor((usec as number) / 1000)).toISOString();
    const answer = (await redisCli(transport, conn, 'SET', cfg.heartbeatKey, at)).trim();
    if (answer !== 'OK')
      throw new ProcessFailedError(
        'redis-cli SET',
        { exitCode: 0, signal: undefined, stderrTail: answer || 'no answer' },
        {
          hint: `the heartbeat was not written: point redis.host at the primary (a replica is read-only) and check its maxmemory`,
        },
      );
    return { env: h.name, key: cfg.heartbeatKey, at };
  } finally {
    await transport.close();
  }
}
