// doctor's checks of one engine's target: the password, the transport, the tools where the engine runs (their
// versions against the server's), the database login, what the dump may read, pgBackRest with PITR, and the
// compressor here. The reads are the engine's own backup plan (tools and checks), so doctor and backup cannot disagree.

import * as pg from '../engines/postgres/commands.js';
import * as pitr from '../engines/postgres/pitr.js';
import type { Engine } from '../engines/engine.js';
import { withConfPath } from '../engines/postgres/pitr.js';
import { postgresConnection } from '../engines/postgres/index.js';
import * as redis from '../engines/redis/commands.js';
import { redisConnection } from '../engines/redis/index.js';
import { IgbackupError } from '../domain/errors.js';
import { capture, captureOk } from '../transports/run.js';
import { succeeded, type Transport } from '../transports/transport.js';
import { runnerTools } from './backup-common.js';
import { runSteps } from './backup-steps.js';
import type { AppContext, EnvHandle } from './context.js';
import type { Checks } from './doctor.js';
import { engineSection, resolvePassword, type AnySection } from './engine-section.js';
import { scratchStamp } from './scratch.js';
import { openTransport } from './transports.js';

export async function engineChecks(ctx: AppContext, h: EnvHandle, engine: Engine, c: Checks): Promise<void> {
  const area = engine.name;
  const cfg = engineSection(ctx, h, engine);
  let password: string | undefined;
  const secretOk = await c.probe(area, 'password', async () => {
    password = await resolvePassword(ctx, h, engine, cfg);
    return password === undefined ? 'none configured' : 'resolved (never shown, never in argv)';
  });
  await c.probe('here', `compressor (${engine.name}: ${cfg.compression})`, async () => {
    const tools = await runnerTools(ctx, cfg.compression);
    return tools.zstd ? `zstd ${tools.zstd}` : `${cfg.compression}: built in`;
  });
  let transport: Transport | undefined;
  const reached = await c.probe(area, `transport (${cfg.transport.type})`, async () => {
    transport = await openTransport(ctx, cfg.transport, `envs.${h.name}.${engine.name}`);
    await captureOk(transport, { argv: ['true'] });
    return `commands run on ${transport.host}`;
  });
  try {
    if (reached && secretOk && transport) await targetChecks(ctx, h, engine, cfg, transport, password, c);
  } finally {
    await transport?.close();
  }
}

async function targetChecks(
  ctx: AppContext,
  h: EnvHandle,
  engine: Engine,
  cfg: AnySection,
  t: Transport,
  password: string | undefined,
  c: Checks,
): Promise<void> {
  const area = engine.name;
  const units = engine.units(cfg);
  const plan = engine.backupPlan(cfg, {
    env: h.name,
    configFile: ctx.configFile,
    units,
    globals: 'globals' in cfg ? cfg.globals : undefined,
    password,
    host: t.host,
    stamp: scratchStamp(ctx.now()),
  });
  let tools: Record<string, string> = {};
  const toolsOk = await c.probe(area, `tools on ${t.host}`, async () => {
    tools = await runSteps(ctx, t, [...(plan.before ?? []), ...plan.tools]);
    const found = Object.entries(tools).map(([k, v]) => `${k} ${v}`);
    return found.length ? found.join(', ') : 'none needed by this method';
  });
  if (!toolsOk) return;
  await c.probe(area, `login and ${engine.unit === 'database' ? 'databases' : 'instance'}`, async () => {
    await runSteps(ctx, t, plan.checks, tools);
    return `${units.join(', ')}: reachable${engine.name === 'postgres' ? ', the clients are not older than the server' : ''}`;
  });
  if (engine.name === 'postgres' && 'maintenanceDatabase' in cfg) await postgresChecks(h, cfg, t, password, c);
  if (engine.name === 'redis' && 'heartbeatKey' in cfg) await redisBackupRights(cfg, t, password, c);
}

/**
 * What the Redis user may run for a backup (ACL DRYRUN, Redis >= 7, as the user redis-cli is logged in as): SYNC for
 * rdb-stream (redis-cli --rdb attaches as a replica), BGSAVE and what reads the file for bgsave; on the replica when
 * one is configured. A server that refuses ACL DRYRUN itself cannot tell: a warning.
 */
async function redisBackupRights(
  cfg: Extract<AnySection, { heartbeatKey: string }>,
  t: Transport,
  password: string | undefined,
  c: Checks,
): Promise<void> {
  const conn = redisConnection(cfg, password, cfg.replica ? 'replica' : 'primary');
  const ask = async (...args: string[]): Promise<string | undefined> => {
    const r = await capture(t, redis.cli(conn, ...args));
    const out = r.stdout.trim();
    return succeeded(r) && !redis.ERROR_ANSWER.test(out) ? out : undefined;
  };
  const commands = cfg.mode === 'bgsave' ? [['BGSAVE'], ['INFO', 'persistence'], ['CONFIG', 'GET', 'dir']] : [['SYNC']];
  await c.probe('redis', `what a backup (${cfg.mode}) may run`, async () => {
    const who = (await ask('ACL', 'WHOAMI')) ?? cfg.user ?? 'default';
    const refused: string[] = [];
    for (const command of commands) {
      const answer = await ask('ACL', 'DRYRUN', who, ...command);
      if (answer === undefined)
        return {
          status: 'warn',
          detail: `could not check what "${who}" may run (ACL DRYRUN is refused or unknown)`,
          fix: `make sure "${who}" may run ${commands.map((x) => x.join(' ')).join(', ')}`,
        };
      if (answer !== 'OK') refused.push(`${command.join(' ')} (${answer})`);
    }
    if (refused.length)
      throw new IgbackupError(`"${who}" may not run ${refused.join(', ')}: the ${cfg.mode} backup needs it`, {
        hint: `ACL SETUSER ${who} ${commands.map((x) => `+${(x[0] as string).toLowerCase()}`).join(' ')}${cfg.mode === 'rdb-stream' ? ' (or mode: bgsave)' : ''}`,
      });
    return `"${who}" may run ${commands.map((x) => x.join(' ')).join(', ')}`;
  });
}

async function postgresChecks(
  h: EnvHandle,
  cfg: Extract<AnySection, { maintenanceDatabase: string }>,
  t: Transport,
  password: string | undefined,
  c: Checks,
): Promise<void> {
  const conn = postgresConnection(cfg, password);
  await c.probe('postgres', 'what a dump may read', async () => {
    const out = await captureOk(t, pg.psqlCommand(conn, cfg.maintenanceDatabase), pg.sql.dumpPrivileges());
    const [superuser, readAll] = out.trim().split('|');
    if (superuser === 't') return `${conn.user} is a superuser`;
    if (readAll === 't') return `${conn.user} has pg_read_all_data`;
    return {
      status: 'warn',
      detail: `${conn.user} is neither a superuser nor a member of pg_read_all_data: a dump fails on any table it may not read`,
      fix: `GRANT pg_read_all_data TO ${conn.user}; (globals: true needs a superuser)`,
    };
  });
  const given = cfg.pitr;
  if (!given) return;
  await c.probe('postgres', 'pgBackRest (point-in-time recovery)', async () => {
    const out = await captureOk(t, pitr.versionCommand(withConfPath(given, h.name)));
    return `${out.trim()} on ${t.host}`;
  });
}
