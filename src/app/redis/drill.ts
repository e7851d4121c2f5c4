// The Redis drill: the RDB loaded into a scratch redis-server here, or restored into the Redis of a fresh namespace;
// the command smoke tests; always torn down (unless --keep).

import { join } from 'node:path';
import type { RedisConfig } from '../../config/schema.js';
import { ConfigError } from '../../domain/errors.js';
import * as redis from '../../engines/redis/commands.js';
import { makeWorkspace } from '../../pipeline/restore-stream.js';
import { capture } from '../../transports/run.js';
import { succeeded, type Transport } from '../../transports/transport.js';
import { downloadMainArtifact } from '../artifact.js';
import type { resolveBackup } from '../catalog.js';
import type { AppContext, EnvHandle } from '../context.js';
import { freePort } from '../ports.js';
import { redisConnection, redisReady, redisSection } from './common.js';
import { restoreRedis } from './restore.js';
import { openTransport } from '../transports.js';
import { waitUntil } from '../wait.js';
import { inDrillNamespace, inNamespace, kubeTransport } from '../drill/namespace.js';
import {
  drillSubject,
  errorText,
  finish,
  type DrillCheck,
  type DrillOptions,
  type DrillReport,
} from '../drill/report.js';

/** The configured Redis smoke tests, through `transport` against the restored server. */
async function redisChecks(
  h: EnvHandle,
  transport: Transport,
  conn: redis.RedisConnection,
  checks: DrillCheck[],
): Promise<void> {
  for (const c of h.env.drill.redis) {
    const r = await capture(transport, redis.cli(conn, ...c.command));
    const got = r.stdout.trim();
    const ok =
      succeeded(r) && (c.expect === undefined || got === c.expect) && (c.min === undefined || Number(got) >= c.min);
    checks.push({
      name: c.command.join(' '),
      ok,
      detail: `got "${got}"${c.expect !== undefined ? `, expected "${c.expect}"` : ''}${c.min !== undefined ? `, expected >= ${c.min}` : ''}`,
    });
  }
}

/** How far a heartbeat may lie after the backup's end (clocks of the primary and of the runner): 5 minutes. */
const HEARTBEAT_SKEW_MS = 5 * 60_000;

/**
 * The RPO the restored data proves: the newest heartbeat in it against the end of the backup, within the tier's target.
 * No beat in the data is a failed check when the heartbeat is scheduled, and nothing to measure otherwise.
 */
async function heartbeatCheck(
  ctx: AppContext,
  h: EnvHandle,
  where: { transport: Transport; conn: redis.RedisConnection },
  finishedAt: string,
  checks: DrillCheck[],
): Promise<number | undefined> {
  const key = h.env.redis?.heartbeatKey ?? 'igbackup:heartbeat';
  const r = await capture(where.transport, redis.cli(where.conn, 'GET', key));
  const answer = r.stdout.trim();
  const beat = succeeded(r) && !redis.ERROR_ANSWER.test(answer) ? redis.parseHeartbeat(answer) : 'unreadable';
  const fail = (detail: string): undefined => void checks.push({ name: 'RPO (heartbeat)', ok: false, detail });
  if (beat === undefined) {
    if (h.env.schedule?.redisHeartbeat !== undefined)
      fail(
        `no heartbeat ${key} in the restored data: does igbackup redis heartbeat --env ${h.name} run on its schedule?`,
      );
    return undefined;
  }
  if (beat === 'unreadable')
    return fail(
      `the heartbeat ${key} in the restored data is not a time igbackup wrote (${JSON.stringify(answer.slice(0, 40))}): the RPO cannot be measured; let only igbackup redis heartbeat write it`,
    );
  if (Date.parse(beat) > Date.parse(finishedAt) + HEARTBEAT_SKEW_MS)
    return fail(
      `the heartbeat in the restored data (${beat}) is later than the backup's end (${finishedAt}): the primary's clock is ahead, or the key was written by hand; the RPO cannot be measured`,
    );
  const seconds = Math.max(0, Math.round((Date.parse(finishedAt) - Date.parse(beat)) / 1000));
  const tier = h.env.tier ? ctx.config.tiers[h.env.tier] : undefined;
  const limit = tier ? tier.rpoMinutes * 60 : undefined;
  checks.push({
    name: 'RPO (heartbeat)',
    ok: limit === undefined || seconds <= limit,
    detail: `newest heartbeat in the restored data ${beat}: ${seconds} s before the backup finished${limit === undefined ? '' : ` (tier target ${limit} s)`}`,
  });
  return seconds;
}

/**
 * Redis: in Kubernetes, a fresh namespace with the Redis workload, the restore (AOF-aware, always brought back) into
 * its pod through kubectl exec, then the smoke tests there; otherwise the RDB loaded into a scratch redis-server here.
 */
export async function drillRedis(
  ctx: AppContext,
  h: EnvHandle,
  entry: Awaited<ReturnType<typeof resolveBackup>>,
  opts: DrillOptions,
): Promise<DrillReport> {
  const k = h.env.drill.kubernetes;
  if (!k?.redis) return drillRedisScratch(ctx, h, entry, opts);
  const kr = k.redis;
  const cfg = redisSection(ctx, h);
  const restore = drillRestoreSettings(h, kr.restore ?? cfg.restore);
  const subject = drillSubject(ctx, {
    engine: 'redis',
    database: entry.manifest.target.database,
    key: entry.key,
    keep: opts.keep,
  });
  return inDrillNamespace(
    ctx,
    k,
    { engine: 'redis', manifest: kr.manifest, pod: kr.pod },
    opts,
    async (ns) => {
      const section: RedisConfig = {
        ...cfg,
        transport: kubeTransport(ctx, k, ns, kr.pod, kr.container),
        host: '127.0.0.1',
        port: kr.port,
        user: undefined,
        password: kr.password,
        tls: undefined,
        restore,
      };
      const { checks, error, rpo } = await restoreAndCheckInNamespace(
        ctx,
        h,
        entry,
        section,
        `pod ${kr.pod} of namespace ${ns}`,
      );
      return {
        ...finish(ctx, h, subject, { target: `${kr.pod}:${kr.port} in namespace ${ns}`, checks, error }),
        achievedRpoSeconds: rpo,
      };
    },
    (ns, error) => finish(ctx, h, subject, { target: `namespace ${ns}`, checks: [], error }),
  );
}

/** How Redis is restored in the drill pod (the drill's own setting, else the env's); a ConfigError when neither is set. */
function drillRestoreSettings<T>(h: EnvHandle, restore: T | undefined): T {
  if (restore) return restore;
  throw new ConfigError(
    `envs.${h.name}.drill.kubernetes.redis.restore is not configured (nor envs.${h.name}.redis.restore)`,
    [],
    {
      hint: 'set restore.start: how Redis starts in the drill pod, e.g. [redis-server, /etc/redis/redis.conf, --daemonize, "yes"]',
    },
  );
}

/** The production restore into the Redis that `section` points at (in the namespace), then the smoke tests there. */
async function restoreAndCheckInNamespace(
  ctx: AppContext,
  h: EnvHandle,
  entry: Awaited<ReturnType<typeof resolveBackup>>,
  section: RedisConfig,
  where: string,
): Promise<{ checks: DrillCheck[]; error: string | undefined; rpo: number | undefined }> {
  const inNs = inNamespace(h, { redis: section });
  const checks: DrillCheck[] = [];
  const transport = await openTransport(ctx, section.transport, `envs.${h.name}.drill.kubernetes.redis`);
  try {
    ctx.reporter.step(`drill: restoring ${entry.key} into Redis in ${where}`);
    const r = await restoreRedis(ctx, inNs, { from: entry.key, yes: true, lockHeld: true });
    checks.push({ name: 'restore', ok: true, detail: `DBSIZE ${r.dbsize}` });
    const conn = await redisConnection(ctx, inNs, section);
    await redisChecks(h, transport, conn, checks);
    const rpo = await heartbeatCheck(ctx, h, { transport, conn }, entry.manifest.finishedAt, checks);
    return { checks, error: undefined, rpo };
  } catch (err) {
    return { checks, error: errorText(err), rpo: undefined };
  } finally {
    await transport.close();
  }
}

/** Redis on a VM or locally: the RDB loaded into a scratch redis-server on this machine. */
async function drillRedisScratch(
  ctx: AppContext,
  h: EnvHandle,
  entry: Awaited<ReturnType<typeof resolveBackup>>,
  opts: DrillOptions,
): Promise<DrillReport> {
  const subject = drillSubject(ctx, {
    engine: 'redis',
    database: entry.manifest.target.database,
    key: entry.key,
    keep: opts.keep,
  });
  const ws = await makeWorkspace();
  const port = await freePort();
  const checks: DrillCheck[] = [];
  let error: string | undefined;
  let rpo: number | undefined;
  const conn: redis.RedisConnection = { host: '127.0.0.1', port };
  let scratch: ReturnType<AppContext['runner']['start']> | undefined;
  try {
    await downloadMainArtifact(ctx, h.store, entry.manifest, join(ws.dir, 'dump.rdb'));
    ctx.reporter.step(`drill: loading ${entry.key} into a scratch redis-server on 127.0.0.1:${port}`);
    scratch = startScratchRedis(ctx, ws.dir, port);
    await waitUntil('scratch redis-server', 120_000, () => redisReady(ctx.runner, conn));
    const dbsize = (await capture(ctx.runner, redis.cli(conn, 'DBSIZE'))).stdout.trim();
    checks.push({ name: 'load', ok: true, detail: `DBSIZE ${dbsize}` });
    await redisChecks(h, ctx.runner, conn, checks);
    rpo = await heartbeatCheck(ctx, h, { transport: ctx.runner, conn }, entry.manifest.finishedAt, checks);
  } catch (err) {
    error = errorText(err);
  } finally {
    if (scratch) {
      await capture(ctx.runner, redis.cli(conn, 'SHUTDOWN', 'NOSAVE'));
      scratch.kill();
      await scratch.done;
    }
    if (!opts.keep) await ws.cleanup();
  }
  const report = finish(ctx, h, subject, { target: `127.0.0.1:${port} (scratch redis-server)`, checks, error });
  return { ...report, achievedRpoSeconds: rpo };
}

/** Starts a scratch redis-server on 127.0.0.1:port that loads dir/dump.rdb and never writes (no AOF, no save). */
function startScratchRedis(ctx: AppContext, dir: string, port: number): ReturnType<AppContext['runner']['start']> {
  const scratch = ctx.runner.start({
    argv: [
      'redis-server',
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--dbfilename',
      'dump.rdb',
      '--appendonly',
      'no',
      '--save',
      '',
      '--protected-mode',
      'no',
    ],
    stdin: 'ignore',
  });
  scratch.stdout.resume();
  return scratch;
}
