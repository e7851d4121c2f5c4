// Use case: a restore drill. Restores a backup into a throwaway target that can never be the source (a scratch
// PostgreSQL database on the configured server or in a fresh Kubernetes namespace; a scratch redis-server, or a
// throwaway Neo4j DBMS, on this machine), runs the configured smoke tests, measures the RTO (download + restore +
// checks) against the tier's target, always tears down (unless --keep), and stores a drill report next to the backups.

import { join, resolve } from 'node:path';
import { freePort } from './ports.js';
import { ConfigError, DriftError, IgbackupError } from '../domain/errors.js';
import { joinKey, keyTimestamp } from '../domain/keys.js';
import * as neo4j from '../engines/neo4j.js';
import * as pg from '../engines/postgres.js';
import * as redis from '../engines/redis.js';
import { makeWorkspace } from '../pipeline/restore-stream.js';
import { capture, captureOk, type Captured } from '../transports/run.js';
import { succeeded, type Transport } from '../transports/transport.js';
import { downloadMainArtifact } from './artifact.js';
import { resolveBackup } from './catalog.js';
import { pgConnection, postgresSection, selectEnv, type AppContext, type EnvHandle } from './context.js';
import { redisConnection, redisReady, redisSection } from './redis-common.js';
import { restoreRedis } from './restore-redis.js';
import { neo4jSchema, type Neo4jConfig, type RedisConfig } from '../config/schema.js';
import { resolveSecret } from '../config/secrets.js';
import { restorePostgres } from './restore-postgres.js';
import { openTransport } from './transports.js';
import { loadIntoScratch, waitForCypher, withScratchServer } from './neo4j-scratch.js';
import { restoreNeo4j } from './restore-neo4j.js';
import { waitUntil } from './wait.js';
import { withLock } from './lock.js';
import { scratchStamp } from './scratch.js';

export const DRILL_SCHEMA = 'igbackup.drill/v1';

export interface DrillCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface DrillReport {
  schema: typeof DRILL_SCHEMA;
  env: string;
  engine: string;
  database: string;
  key: string;
  target: string;
  startedAt: string;
  finishedAt: string;
  rtoSeconds: number;
  rtoTargetSeconds?: number | undefined;
  rtoMet?: boolean | undefined;
  checks: DrillCheck[];
  ok: boolean;
  kept: boolean;
  error?: string | undefined;
}

export interface DrillOptions {
  env: string;
  engine: string;
  from?: string | undefined;
  latest?: boolean | undefined;
  database?: string | undefined;
  keep: boolean;
  /** Remove another drill's lock of the engine first (only when that run is dead). */
  forceUnlock?: boolean | undefined;
}

export function drillPrefix(h: EnvHandle, engine: string): string {
  return `${joinKey(h.store.prefix, h.name, '.igbackup', 'drills', engine)}/`;
}

export async function drill(ctx: AppContext, opts: DrillOptions): Promise<DrillReport[]> {
  const h = selectEnv(ctx, opts.env);
  const engines = opts.engine === 'all' ? (['postgres', 'redis', 'neo4j'] as const).filter((e) => h.env[e]) : [opts.engine];
  const reports: DrillReport[] = [];
  for (const engine of engines) {
    // One drill per env and engine at a time; the restores inside go to throwaway targets, so they take no restore lock.
    reports.push(...(await withLock(ctx, h, { operation: 'drill', engine }, { forceUnlock: Boolean(opts.forceUnlock) }, () => drillEngine(ctx, h, engine, opts))));
  }
  const failed = reports.filter((r) => !r.ok);
  if (failed.length) {
    throw new DriftError(
      `drill failed: ${failed.map((r) => `${r.engine}/${r.database}: ${r.error ?? [...r.checks.filter((c) => !c.ok).map((c) => `${c.name} (${c.detail})`), r.rtoMet === false ? `RTO ${r.rtoSeconds} s > target ${r.rtoTargetSeconds} s` : ''].filter(Boolean).join('; ')}`).join(' | ')}`,
      { hint: 'the drill report is stored next to the backups; igbackup status shows the last drill' },
    );
  }
  return reports;
}

async function drillEngine(ctx: AppContext, h: EnvHandle, engine: string, opts: DrillOptions): Promise<DrillReport[]> {
  const reports: DrillReport[] = [];
  const all = engine === 'postgres' ? postgresSection(ctx, h).databases : engine === 'neo4j' ? (h.env.neo4j?.databases ?? []) : [];
  const dbs = engine !== 'redis' && !opts.from ? (opts.database ? [opts.database] : all) : [opts.database];
  for (const database of dbs) {
    const entry = await resolveBackup(ctx, h, engine, { from: opts.from, latest: opts.from ? undefined : true, database });
    const report =
      engine === 'postgres'
        ? await drillPostgres(ctx, h, entry.key, entry.manifest.target.database, opts)
        : engine === 'neo4j'
          ? await drillNeo4j(ctx, h, entry, opts)
          : await drillRedis(ctx, h, entry, opts);
    await h.store.putBytes(joinKey(drillPrefix(h, engine), `${report.database}_${keyTimestamp(new Date(report.startedAt))}.json`), `${JSON.stringify(report, null, 2)}\n`);
    reports.push(report);
  }
  return reports;
}

/** An error as a drill report states it: the message and, when igbackup knows one, what to do about it. */
function errorText(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return err instanceof IgbackupError && err.hint ? `${message} (${err.hint})` : message;
}

function finish(ctx: AppContext, h: EnvHandle, base: Omit<DrillReport, 'finishedAt' | 'rtoSeconds' | 'rtoTargetSeconds' | 'rtoMet' | 'ok' | 'schema'>, t0: number): DrillReport {
  const tier = h.env.tier ? ctx.config.tiers[h.env.tier] : undefined;
  const rtoSeconds = Math.round((performance.now() - t0) / 100) / 10;
  const rtoTargetSeconds = tier ? tier.rtoMinutes * 60 : undefined;
  const rtoMet = rtoTargetSeconds === undefined ? undefined : rtoSeconds <= rtoTargetSeconds;
  const ok = !base.error && base.checks.every((c) => c.ok) && rtoMet !== false;
  return { schema: DRILL_SCHEMA, ...base, finishedAt: ctx.now().toISOString(), rtoSeconds, rtoTargetSeconds, rtoMet, ok };
}

type KubeDrill = NonNullable<EnvHandle['env']['drill']['kubernetes']>;

/**
 * A fresh namespace igbackup-drill-<ts>-<random>-<engine> with the workload from `manifest`, its pod Ready, then body; the
 * namespace is deleted afterwards, also when anything failed, unless --keep.
 */
async function inDrillNamespace(
  ctx: AppContext,
  k: KubeDrill,
  w: { engine: string; manifest: string; pod: string },
  opts: DrillOptions,
  body: (ns: string) => Promise<DrillReport>,
  failed: (ns: string, error: string) => DrillReport,
): Promise<DrillReport> {
  const ns = `igbackup-drill-${scratchStamp(ctx.now())}-${w.engine}`;
  const base = [k.kubectl, ...(k.context ? ['--context', k.context] : []), ...(k.kubeconfig ? ['--kubeconfig', resolve(ctx.configDir, k.kubeconfig)] : [])];
  const kubectl = (...args: string[]): Promise<string> => captureOk(ctx.runner, { argv: [...base, ...args] });
  let created = false;
  try {
    ctx.reporter.step(`drill: creating namespace ${ns} and the workload from ${w.manifest}`);
    await kubectl('create', 'namespace', ns);
    created = true;
    await kubectl('apply', '-n', ns, '-f', resolve(ctx.configDir, w.manifest));
    await kubectl('wait', '-n', ns, '--for=condition=Ready', `pod/${w.pod}`, `--timeout=${k.readyTimeoutSec}s`);
    return await body(ns);
  } catch (err) {
    return failed(ns, errorText(err));
  } finally {
    if (created && !opts.keep) {
      ctx.reporter.step(`drill: deleting namespace ${ns}`);
      await capture(ctx.runner, { argv: [...base, 'delete', 'namespace', ns, '--wait=false'] });
    }
  }
}

/** The env as seen from a drill namespace: `section` replaces the engine's config (its transport, connection). */
function derivedEnv(ctx: AppContext, h: EnvHandle, section: Partial<EnvHandle['env']>): { ctx: AppContext; h: EnvHandle } {
  const env: EnvHandle['env'] = { ...h.env, ...section };
  return { ctx: { ...ctx, config: { ...ctx.config, envs: { ...ctx.config.envs, [h.name]: env } } }, h: { ...h, env } };
}

function kubeTransport(k: KubeDrill, ns: string, pod: string, container: string | undefined) {
  return { type: 'kubernetes' as const, namespace: ns, pod, container, context: k.context, kubeconfig: k.kubeconfig, kubectl: k.kubectl, idleTimeoutSec: 600 };
}

async function drillPostgres(ctx: AppContext, h: EnvHandle, key: string, database: string, opts: DrillOptions): Promise<DrillReport> {
  const k = h.env.drill.kubernetes;
  if (!k?.manifest || !k.pod) return drillPostgresOn(ctx, h, key, database, opts, '');
  // Kubernetes: a fresh namespace with the configured workload; the restore goes into its PostgreSQL.
  const started = ctx.now();
  const t0 = performance.now();
  const pod = k.pod;
  return inDrillNamespace(
    ctx,
    k,
    { engine: 'postgres', manifest: k.manifest, pod },
    opts,
    async (ns) => {
      const cfg = postgresSection(ctx, h);
      const d = derivedEnv(ctx, h, { postgres: { ...cfg, transport: kubeTransport(k, ns, pod, k.container), host: k.host, port: k.port, user: k.user, password: k.password } });
      // The RTO counts from before the namespace was made, as for the other engines.
      return drillPostgresOn(d.ctx, d.h, key, database, opts, ` in namespace ${ns}`, { started, t0 });
    },
    (ns, error) => finish(ctx, h, { env: h.name, engine: 'postgres', database, key, target: `namespace ${ns}`, startedAt: started.toISOString(), checks: [], kept: opts.keep, error }, t0),
  );
}

/** The drill proper, on the server `ctx` configures for the env (the source's, or the throwaway namespace's). */
async function drillPostgresOn(
  ctx: AppContext,
  h: EnvHandle,
  key: string,
  database: string,
  opts: DrillOptions,
  where: string,
  clock: { started: Date; t0: number } = { started: ctx.now(), t0: performance.now() },
): Promise<DrillReport> {
  const { started, t0 } = clock;
  const scratch = pg.scratchName(database, 'drill', scratchStamp(started, '_'));
  const checks: DrillCheck[] = [];
  let error: string | undefined;
  const cfg = postgresSection(ctx, h);
  const conn = await pgConnection(ctx, h, cfg);
  const transport = await openTransport(ctx, cfg.transport, `envs.${h.name}.postgres`);
  try {
    ctx.reporter.step(`drill: restoring ${key} into scratch database ${scratch}${where}`);
    // A scratch database is never the source: no confirmation needed even in a protected env.
    await restorePostgres(ctx, { env: h.name, from: key, targetDb: scratch, yes: true, lockHeld: true });
    checks.push({ name: 'restore', ok: true, detail: `restored into ${scratch}` });
    for (const c of h.env.drill.postgres.filter((x) => x.database === undefined || x.database === database)) {
      const r = await capture(transport, pg.psqlCommand(conn, scratch), `${c.sql.trim().replace(/;?$/, ';')}\n`);
      const got = r.stdout.trim();
      checks.push({ name: c.sql, ok: succeeded(r) && got === c.expect, detail: succeeded(r) ? `got "${got}", expected "${c.expect}"` : r.stderrTail.trim() });
    }
  } catch (err) {
    error = errorText(err);
  } finally {
    if (!opts.keep) {
      ctx.reporter.step(`drill: dropping ${scratch}`);
      await capture(transport, pg.psqlCommand(conn, cfg.maintenanceDatabase), pg.sql.dropDatabase(scratch));
    }
    await transport.close();
  }
  return finish(ctx, h, { env: h.name, engine: 'postgres', database, key, target: `${conn.host}:${conn.port}/${scratch}${where}`, startedAt: started.toISOString(), checks, kept: opts.keep, error }, t0);
}


/** The configured Redis smoke tests, through `transport` against the restored server. */
async function redisChecks(h: EnvHandle, transport: Transport, conn: redis.RedisConnection, checks: DrillCheck[]): Promise<void> {
  for (const c of h.env.drill.redis) {
    const r = await capture(transport, redis.cli(conn, ...c.command));
    const got = r.stdout.trim();
    const ok = succeeded(r) && (c.expect === undefined || got === c.expect) && (c.min === undefined || Number(got) >= c.min);
    checks.push({ name: c.command.join(' '), ok, detail: `got "${got}"${c.expect !== undefined ? `, expected "${c.expect}"` : ''}${c.min !== undefined ? `, expected >= ${c.min}` : ''}` });
  }
}

async function drillRedis(ctx: AppContext, h: EnvHandle, entry: Awaited<ReturnType<typeof resolveBackup>>, opts: DrillOptions): Promise<DrillReport> {
  const k = h.env.drill.kubernetes;
  if (!k?.redis) return drillRedisScratch(ctx, h, entry, opts);
  // Kubernetes: a fresh namespace with the Redis workload; the restore (AOF-aware, always brought back) goes into
  // its pod through kubectl exec, then the smoke tests run there.
  const kr = k.redis;
  const cfg = redisSection(ctx, h);
  const restore = kr.restore ?? cfg.restore;
  if (!restore) {
    throw new ConfigError(`envs.${h.name}.drill.kubernetes.redis.restore is not configured (nor envs.${h.name}.redis.restore)`, [], {
      hint: 'set restore.start: how Redis starts in the drill pod, e.g. [redis-server, /etc/redis/redis.conf, --daemonize, "yes"]',
    });
  }
  const started = ctx.now();
  const t0 = performance.now();
  const database = entry.manifest.target.database;
  const base = { env: h.name, engine: 'redis', database, key: entry.key, startedAt: started.toISOString(), kept: opts.keep };
  return inDrillNamespace(
    ctx,
    k,
    { engine: 'redis', manifest: kr.manifest, pod: kr.pod },
    opts,
    async (ns) => {
      const section: RedisConfig = { ...cfg, transport: kubeTransport(k, ns, kr.pod, kr.container), host: '127.0.0.1', port: kr.port, user: undefined, password: kr.password, tls: undefined, restore };
      const d = derivedEnv(ctx, h, { redis: section });
      const checks: DrillCheck[] = [];
      let error: string | undefined;
      const transport = await openTransport(d.ctx, section.transport, `envs.${h.name}.drill.kubernetes.redis`);
      try {
        ctx.reporter.step(`drill: restoring ${entry.key} into Redis in pod ${kr.pod} of namespace ${ns}`);
        const r = await restoreRedis(d.ctx, { env: h.name, from: entry.key, yes: true, lockHeld: true });
        checks.push({ name: 'restore', ok: true, detail: `DBSIZE ${r.dbsize}` });
        await redisChecks(h, transport, await redisConnection(d.ctx, d.h, section), checks);
      } catch (err) {
        error = errorText(err);
      } finally {
        await transport.close();
      }
      return finish(ctx, h, { ...base, target: `${kr.pod}:${kr.port} in namespace ${ns}`, checks, error }, t0);
    },
    (ns, error) => finish(ctx, h, { ...base, target: `namespace ${ns}`, checks: [], error }, t0),
  );
}

/** Redis on a VM or locally: the RDB loaded into a scratch redis-server on this machine. */
async function drillRedisScratch(ctx: AppContext, h: EnvHandle, entry: Awaited<ReturnType<typeof resolveBackup>>, opts: DrillOptions): Promise<DrillReport> {
  const started = ctx.now();
  const t0 = performance.now();
  const ws = await makeWorkspace();
  const port = await freePort();
  const checks: DrillCheck[] = [];
  let error: string | undefined;
  const conn: redis.RedisConnection = { host: '127.0.0.1', port };
  let scratch: ReturnType<AppContext['runner']['start']> | undefined;
  try {
    await downloadMainArtifact(ctx, h.store, entry.manifest, join(ws.dir, 'dump.rdb'));
    ctx.reporter.step(`drill: loading ${entry.key} into a scratch redis-server on 127.0.0.1:${port}`);
    scratch = ctx.runner.start({
      argv: ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--dir', ws.dir, '--dbfilename', 'dump.rdb', '--appendonly', 'no', '--save', '', '--protected-mode', 'no'],
      stdin: 'ignore',
    });
    scratch.stdout.resume();
    await waitUntil('scratch redis-server', 120_000, () => redisReady(ctx.runner, conn));
    const dbsize = (await capture(ctx.runner, redis.cli(conn, 'DBSIZE'))).stdout.trim();
    checks.push({ name: 'load', ok: true, detail: `DBSIZE ${dbsize}` });
    await redisChecks(h, ctx.runner, conn, checks);
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
  return finish(ctx, h, { env: h.name, engine: 'redis', database: entry.manifest.target.database, key: entry.key, target: `127.0.0.1:${port} (scratch redis-server)`, startedAt: started.toISOString(), checks, kept: opts.keep, error }, t0);
}

/**
 * Neo4j: load the artifact into a throwaway DBMS on this machine (its own neo4j.conf and directories), run
 * neo4j-admin database check, then start it on a loopback port and run the Cypher smoke tests; always stopped.
 */
async function drillNeo4j(ctx: AppContext, h: EnvHandle, entry: Awaited<ReturnType<typeof resolveBackup>>, opts: DrillOptions): Promise<DrillReport> {
  if (h.env.drill.kubernetes?.neo4j) return drillNeo4jInNamespace(ctx, h, entry, opts);
  const started = ctx.now();
  const t0 = performance.now();
  const ws = await makeWorkspace();
  const checks: DrillCheck[] = [];
  const database = entry.manifest.target.database;
  let error: string | undefined;
  let target = 'throwaway Neo4j DBMS on this machine';
  try {
    const path = join(ws.dir, 'artifact');
    await downloadMainArtifact(ctx, h.store, entry.manifest, path);
    ctx.reporter.step(`drill: loading ${entry.key} into a throwaway Neo4j DBMS and checking it`);
    const { scratch, check } = await loadIntoScratch(ctx, h, entry.manifest, path, ws.dir);
    target = `throwaway Neo4j DBMS on 127.0.0.1:${scratch.boltPort} (${scratch.root})`;
    checks.push({ name: check.tool, ok: check.ok, detail: check.detail });
    if (check.ok && cypherFor(h, database).length) await withScratchServer(ctx, h, scratch, (query) => cypherChecks(h, database, query, checks));
  } catch (err) {
    error = errorText(err);
  } finally {
    if (!opts.keep) await ws.cleanup();
  }
  return finish(ctx, h, { env: h.name, engine: 'neo4j', database, key: entry.key, target, startedAt: started.toISOString(), checks, kept: opts.keep, error }, t0);
}

function cypherFor(h: EnvHandle, database: string) {
  return h.env.drill.neo4j.filter((c) => c.database === undefined || c.database === database);
}

/** The configured Cypher smoke tests for database, through query (cypher-shell --format plain). */
async function cypherChecks(h: EnvHandle, database: string, query: (cypher: string) => Promise<Captured>, checks: DrillCheck[]): Promise<void> {
  for (const c of cypherFor(h, database)) {
    const r = await query(c.cypher);
    const got = neo4j.parsePlain(r.stdout);
    checks.push({ name: c.cypher, ok: succeeded(r) && got === c.expect, detail: succeeded(r) ? `got "${got}", expected "${c.expect}"` : r.stderrTail.trim() });
  }
}

/**
 * Neo4j in Kubernetes: a fresh namespace with the Neo4j workload; the production offline restore goes into it
 * (scaled to 0, helper pod on the PVC loads and runs the consistency check, scaled back, rollout), then the Cypher
 * checks run in its pod through cypher-shell, the password as NEO4J_PASSWORD.
 */
async function drillNeo4jInNamespace(ctx: AppContext, h: EnvHandle, entry: Awaited<ReturnType<typeof resolveBackup>>, opts: DrillOptions): Promise<DrillReport> {
  const k = h.env.drill.kubernetes as KubeDrill;
  const kn = k.neo4j as NonNullable<KubeDrill['neo4j']>;
  const pod = kn.pod ?? `${kn.statefulSet}-0`;
  const cfg = h.env.neo4j;
  const started = ctx.now();
  const t0 = performance.now();
  const database = entry.manifest.target.database;
  const base = { env: h.name, engine: 'neo4j', database, key: entry.key, startedAt: started.toISOString(), kept: opts.keep };
  let password: string | undefined;
  if (kn.password) {
    password = await resolveSecret(kn.password, ctx.environ, `envs.${h.name}.drill.kubernetes.neo4j.password`);
    ctx.secrets.add(password);
  }
  return inDrillNamespace(
    ctx,
    k,
    { engine: 'neo4j', manifest: kn.manifest, pod },
    opts,
    async (ns) => {
      const section: Neo4jConfig = neo4jSchema.parse({
        ...(cfg ?? {}),
        edition: 'community', // offline into the throwaway workload, whatever the source's edition
        transport: kubeTransport(k, ns, pod, kn.container),
        kubernetes: { statefulSet: kn.statefulSet, pvc: kn.pvc, image: kn.image, mountPath: kn.mountPath, helperTimeoutSec: k.readyTimeoutSec, rolloutTimeoutSec: k.readyTimeoutSec },
      });
      const d = derivedEnv(ctx, h, { neo4j: section });
      const checks: DrillCheck[] = [];
      let error: string | undefined;
      const transport = await openTransport(d.ctx, section.transport, `envs.${h.name}.drill.kubernetes.neo4j`);
      try {
        ctx.reporter.step(`drill: restoring ${entry.key} into Neo4j ${kn.statefulSet} of namespace ${ns}`);
        const r = await restoreNeo4j(d.ctx, { env: h.name, from: entry.key, yes: true, lockHeld: true });
        checks.push({ name: 'neo4j-admin database check', ok: r.checked, detail: r.checked ? 'no issues found (in the helper pod, before scaling back)' : 'not run' });
        const env = { NEO4J_USERNAME: kn.username, ...(password ? { NEO4J_PASSWORD: password } : {}) };
        const query = (cypher: string): Promise<Captured> =>
          capture(transport, { ...neo4j.cypherCommand(kn.cypherShell, kn.boltPort, database), env }, neo4j.cypherInput(cypher));
        if (cypherFor(h, database).length) {
          await waitForCypher(`Neo4j in ${pod}`, k.readyTimeoutSec, query);
          await cypherChecks(h, database, query, checks);
        }
      } catch (err) {
        error = errorText(err);
      } finally {
        await transport.close();
      }
      return finish(ctx, h, { ...base, target: `${pod} (StatefulSet ${kn.statefulSet}) in namespace ${ns}`, checks, error }, t0);
    },
    (ns, error) => finish(ctx, h, { ...base, target: `namespace ${ns}`, checks: [], error }, t0),
  );
}
