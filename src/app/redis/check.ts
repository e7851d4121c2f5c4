// Use case: report a Redis server's persistence settings against the config's expectations (`igbackup redis check`).

import { DriftError } from '../../domain/errors.js';
import * as redis from '../../engines/redis/commands.js';
import { capture } from '../../transports/run.js';
import { succeeded } from '../../transports/transport.js';
import { selectEnv, type AppContext } from '../context.js';
import { redisCli, redisConnection, redisInfo, redisSection } from './common.js';
import { openTransport } from '../transports.js';

export interface RedisCheckResult {
  env: string;
  server: string;
  rows: redis.PersistenceReport[];
  ok: boolean;
}

export async function checkRedis(ctx: AppContext, opts: { env: string }): Promise<RedisCheckResult> {
  const h = selectEnv(ctx, opts.env);
  const cfg = redisSection(ctx, h);
  const conn = await redisConnection(ctx, h, cfg);
  const transport = await openTransport(ctx, cfg.transport, `envs.${h.name}.redis`);
  try {
    const config = {
      ...redis.parseConfigGet(await redisCli(transport, conn, 'CONFIG', 'GET', 'save')),
      ...redis.parseConfigGet(await redisCli(transport, conn, 'CONFIG', 'GET', 'appendonly')),
    };
    const info = await redisInfo(transport, conn, 'persistence');
    const rows = redis.persistenceReport(config, info, cfg.expect);
    const oc = await capture(transport, { argv: ['cat', '/proc/sys/vm/overcommit_memory'] });
    if (succeeded(oc)) {
      const v = oc.stdout.trim();
      rows.push({
        item: 'vm.overcommit_memory',
        actual: v,
        expected: '1',
        status: v === '1' ? 'ok' : 'warning',
        note:
          v === '1'
            ? undefined
            : 'BGSAVE and replication (--rdb) fork; with overcommit 0 the fork can fail under memory pressure (sysctl vm.overcommit_memory=1)',
      });
    }
    const result = {
      env: h.name,
      server: `${cfg.host}:${cfg.port}`,
      rows,
      ok: !rows.some((r) => r.status === 'drift'),
    };
    return result;
  } finally {
    await transport.close();
  }
}

/** Throws DriftError (its own exit code) when a check found drift, after the result was printed. */
export function failOnDrift(r: { ok: boolean; rows: { item: string; status: string }[] }): void {
  if (!r.ok) {
    const items = r.rows.filter((x) => x.status === 'drift').map((x) => x.item);
    throw new DriftError(`drift: ${items.join(', ')}`);
  }
}
