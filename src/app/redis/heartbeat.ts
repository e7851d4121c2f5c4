// Use case `redis heartbeat` (scheduled every minute for a Redis at a tight tier): sets the env's heartbeat key to the
// time on the primary. A backup records the beat its source (the replica) held; a drill reads it back from the
// restored data: the RPO measured, replication lag included.

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
    const at = ctx.now().toISOString();
    await redisCli(transport, conn, 'SET', cfg.heartbeatKey, at);
    return { env: h.name, key: cfg.heartbeatKey, at };
  } finally {
    await transport.close();
  }
}
