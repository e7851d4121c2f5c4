// `igbackup redis check`: persistence settings of the env's Redis against the config's expectations; `redis heartbeat`.

import type { Command } from 'commander';
import { checkRedis, failOnDrift } from '../app/redis/check.js';
import { redisHeartbeat } from '../app/redis/heartbeat.js';
import { table } from './format.js';
import { buildContext, globalsOf, type CliDeps } from './globals.js';

export function registerRedis(program: Command, deps: CliDeps): void {
  const redis = program.command('redis').description('Redis-specific commands');
  redis
    .command('check')
    .description('report save policy, AOF, last bgsave status and vm.overcommit_memory against envs.<env>.redis.expect')
    .requiredOption('-e, --env <name>', 'environment from the config')
    .action(async (flags: { env: string }, cmd: Command) => {
      const g = globalsOf(cmd);
      const out = deps.output(g);
      const ctx = await buildContext(deps, g, out);
      const r = await checkRedis(ctx, flags);
      out.json({ command: 'redis check', ...r });
      const color = (s: string): string =>
        s === 'ok' ? out.c.green(s) : s === 'drift' ? out.c.red(s) : s === 'warning' ? out.c.yellow(s) : s;
      const rows = [
        ['ITEM', 'ACTUAL', 'EXPECTED', 'STATUS', 'NOTE'],
        ...r.rows.map((x) => [x.item, x.actual, x.expected ?? '-', x.status, x.note ?? '']),
      ];
      out.text(
        `Redis ${r.server} (env ${r.env})\n${table(rows)
          .split('\n')
          .map((l, i) => (i === 0 ? l : l.replace(/\b(ok|drift|warning|info)\b/, color)))
          .join('\n')}`,
      );
      failOnDrift(r);
    });
  redis
    .command('heartbeat')
    .description(
      'set envs.<env>.redis.heartbeatKey to the time on the primary (schedule it every minute: backups and drills measure the RPO by it)',
    )
    .requiredOption('-e, --env <name>', 'environment from the config')
    .action(async (flags: { env: string }, cmd: Command) => {
      const g = globalsOf(cmd);
      const out = deps.output(g);
      const ctx = await buildContext(deps, g, out);
      const r = await redisHeartbeat(ctx, flags);
      out.json({ ok: true, command: 'redis heartbeat', result: r });
      out.text(`${out.c.green('✔')} heartbeat ${r.key} = ${r.at}`);
    });
}
