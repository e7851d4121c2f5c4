// Use cases: `schedule crontab` (lines for a VM host) and `schedule k8s` (CronJobs + RBAC, validated against the
// Kubernetes schemas of the kubernetes-models package before they are printed). One job per env and engine.

import { stringify } from 'yaml';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ENGINES } from '../config/schema.js';
import { ConfigError } from '../domain/errors.js';
import { cronJob, crontab, envToken, rbac, type ScheduleJob } from '../domain/schedule.js';
import { selectEnv, type AppContext, type EnvHandle } from './context.js';
import { crontabFileNotes, filesRead, podFileMounts } from './schedule-files.js';

/**
 * One job per engine with a cron expression: a run backs up all of the engine's databases in turn, because the
 * backup lock is per env and engine (one job per database at the same minute would be refused by the lock).
 */
function jobs(ctx: AppContext, h: EnvHandle): ScheduleJob[] {
  const s = h.env.schedule;
  const out: ScheduleJob[] = [];
  for (const engine of ENGINES) {
    const cron = s?.[engine];
    if (cron !== undefined && h.env[engine]) out.push({ engine, cron: cron.trim().split(/\s+/).join(' ') });
  }
  if (h.env.postgres?.pitr && s) out.push(...physicalJobs(h.name, s.postgresPhysical));
  if (h.env.redis && s?.redisHeartbeat !== undefined)
    out.push({
      engine: 'redis',
      name: 'redis-beat',
      cron: s.redisHeartbeat.trim().split(/\s+/).join(' '),
      args: ['redis', 'heartbeat', '--env', h.name],
    });
  if (s?.prune !== undefined)
    out.push({
      engine: 'prune',
      name: 'prune',
      cron: s.prune.trim().split(/\s+/).join(' '),
      args: ['prune', '--env', h.name, '--yes'],
      role: 'prune',
    });
  if (!out.length) {
    throw new ConfigError(`nothing to schedule for env "${h.name}" in ${ctx.configFile}`, [], {
      hint: `set envs.${h.name}.schedule.postgres / redis / neo4j to a cron expression (e.g. "*/15 * * * *") for engines the env configures`,
    });
  }
  checkNameCollisions(ctx, h.name);
  return out;
}

/** PITR: weekly full and daily differential base backups, and the heartbeat (the physical drill's RPO yardstick). */
function physicalJobs(env: string, p: { full: string; diff: string; heartbeat: string }): ScheduleJob[] {
  const cron = (c: string): string => c.trim().split(/\s+/).join(' ');
  const backup = (type: string): string[] => ['backup', 'postgres', '--env', env, '--physical', '--type', type];
  return [
    { engine: 'postgres', name: 'pg-full', cron: cron(p.full), args: backup('full') },
    { engine: 'postgres', name: 'pg-diff', cron: cron(p.diff), args: backup('diff') },
    { engine: 'postgres', name: 'pg-beat', cron: cron(p.heartbeat), args: ['pitr', 'heartbeat', '--env', env] },
  ];
}

/** Names are derived from the env name (see envToken); two scheduled envs that would share one are refused. */
function checkNameCollisions(ctx: AppContext, env: string): void {
  const token = envToken(env);
  for (const [other, cfg] of Object.entries(ctx.config.envs)) {
    if (other !== env && cfg.schedule && envToken(other) === token) {
      throw new ConfigError(
        `envs "${env}" and "${other}" would share the schedule name igbackup-${token}-<engine> (job, lock and log)`,
        [],
        {
          hint: 'rename one of the two envs',
        },
      );
    }
  }
}

export function scheduleCrontab(ctx: AppContext, opts: { env: string }): string {
  const h = selectEnv(ctx, opts.env);
  const list = jobs(ctx, h);
  const s = h.env.schedule;
  const configPath = s?.configPath ?? '/etc/igbackup/igbackup.yaml';
  const files = filesRead(
    h.name,
    h.env,
    list.map((j) => j.engine),
  );
  return crontab(list, {
    env: h.name,
    bin: s?.bin ?? '/usr/local/bin/igbackup',
    configPath,
    envFile: s?.envFile ?? '/etc/igbackup/igbackup.env',
    pruneEnvFile: s?.pruneEnvFile ?? '/etc/igbackup/igbackup-prune.env',
    logDir: s?.logDir ?? '/var/log/igbackup',
    lockDir: s?.lockDir ?? '/var/lock',
    notes: crontabFileNotes(files, configPath),
  });
}

export function scheduleK8s(
  ctx: AppContext,
  opts: { env: string },
): { yaml: string; objects: Record<string, unknown>[] } {
  const h = selectEnv(ctx, opts.env);
  const k = h.env.schedule?.kubernetes;
  if (!k) {
    throw new ConfigError(`envs.${h.name}.schedule.kubernetes is not configured`, [], {
      hint: 'set at least image and targetNamespace (see config.example.yaml)',
    });
  }
  const settings = {
    env: h.name,
    ...k,
    needsWorkloadRights: h.env.neo4j?.kubernetes !== undefined,
    prunes: h.env.schedule?.prune !== undefined,
  };
  const cronJobs = jobs(ctx, h).map((j) =>
    cronJob(j, settings, podFileMounts(filesRead(h.name, h.env, [j.engine]), k)),
  );
  const objects = [...rbac(settings), ...cronJobs];
  for (const o of objects) validate(o);
  return { yaml: objects.map((o) => stringify(o)).join('---\n'), objects };
}

/** Validates against the Kubernetes OpenAPI schemas (kubernetes-models); throws with the schema's message. */
function validate(o: Record<string, unknown>): void {
  const models: Record<string, new (data: never) => { validate(): void }> = {
    CronJob,
    ServiceAccount,
    Role,
    RoleBinding,
  };
  const Model = models[o.kind as string];
  if (!Model) throw new Error(`no schema for kind ${String(o.kind)}`);
  const { apiVersion: _a, kind: _k, ...rest } = o;
  new Model(rest as never).validate();
}
