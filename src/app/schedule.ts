// Use cases: `schedule crontab` (lines for a VM host) and `schedule k8s` (CronJobs + RBAC, validated against the
// Kubernetes schemas of the kubernetes-models package before they are printed).

import { stringify } from 'yaml';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ConfigError } from '../domain/errors.js';
import { cronJob, crontab, rbac, type ScheduleJob } from '../domain/schedule.js';
import { selectEnv, type AppContext, type EnvHandle } from './context.js';

/** One job per engine with a cron expression; postgres and neo4j get one per database. */
function jobs(ctx: AppContext, h: EnvHandle): ScheduleJob[] {
  const s = h.env.schedule;
  const out: ScheduleJob[] = [];
  if (s?.postgres && h.env.postgres) for (const database of h.env.postgres.databases) out.push({ engine: 'postgres', database, cron: s.postgres });
  if (s?.redis && h.env.redis) out.push({ engine: 'redis', cron: s.redis });
  if (s?.neo4j && h.env.neo4j) for (const database of h.env.neo4j.databases) out.push({ engine: 'neo4j', database, cron: s.neo4j });
  if (!out.length) {
    throw new ConfigError(`nothing to schedule for env "${h.name}" in ${ctx.configFile}`, [], {
      hint: `set envs.${h.name}.schedule.postgres / redis / neo4j to a cron expression (e.g. "*/15 * * * *") for engines the env configures`,
    });
  }
  for (const j of out) {
    if (j.cron.trim().split(/\s+/).length !== 5) throw new ConfigError(`envs.${h.name}.schedule.${j.engine}: "${j.cron}" is not a 5-field cron expression`);
  }
  return out;
}

export function scheduleCrontab(ctx: AppContext, opts: { env: string }): string {
  const h = selectEnv(ctx, opts.env);
  const s = h.env.schedule;
  const list = jobs(ctx, h);
  return crontab(list, {
    env: h.name,
    bin: s?.bin ?? '/usr/local/bin/igbackup',
    configPath: s?.configPath ?? '/etc/igbackup/igbackup.yaml',
    envFile: s?.envFile ?? '/etc/igbackup/igbackup.env',
    logDir: s?.logDir ?? '/var/log/igbackup',
    lockDir: s?.lockDir ?? '/var/lock',
  });
}

export function scheduleK8s(ctx: AppContext, opts: { env: string }): { yaml: string; objects: Record<string, unknown>[] } {
  const h = selectEnv(ctx, opts.env);
  const k = h.env.schedule?.kubernetes;
  if (!k) {
    throw new ConfigError(`envs.${h.name}.schedule.kubernetes is not configured`, [], { hint: 'set at least image and targetNamespace (see config.example.yaml)' });
  }
  const settings = { env: h.name, ...k, needsWorkloadRights: h.env.neo4j?.kubernetes !== undefined };
  const objects = [...rbac(settings), ...jobs(ctx, h).map((j) => cronJob(j, settings))];
  for (const o of objects) validate(o);
  return { yaml: objects.map((o) => stringify(o)).join('---\n'), objects };
}

/** Validates against the Kubernetes OpenAPI schemas (kubernetes-models); throws with the schema's message. */
function validate(o: Record<string, unknown>): void {
  const models: Record<string, new (data: never) => { validate(): void }> = { CronJob, ServiceAccount, Role, RoleBinding };
  const Model = models[o.kind as string];
  if (!Model) throw new Error(`no schema for kind ${String(o.kind)}`);
  const { apiVersion: _a, kind: _k, ...rest } = o;
  new Model(rest as never).validate();
}
