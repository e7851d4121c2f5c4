// The `schedule` section of an env (zod): cron expressions per engine, the crontab paths, the CronJob settings.

import { z } from 'zod';
import { cronProblem } from './cron.js';

/** Five cron fields or a macro such as @daily, as both crontab and a Kubernetes CronJob accept it. */
const cronSchema = z.string().superRefine((expr, ctx) => {
  const problem = cronProblem(expr);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** cron starts jobs in the user's home directory: every path in a crontab line must be absolute. */
const absolutePath = z.string().regex(/^\//, 'must be an absolute path (cron runs jobs from the home directory)');

/** DNS-1123 label (namespaces) and subdomain (object names), as the Kubernetes API checks them. */
const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a Kubernetes DNS label (a-z, 0-9, "-", at most 63)');
const dnsName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/, 'must be a Kubernetes object name (a-z, 0-9, "-", ".")');

const kubernetesScheduleSchema = z.strictObject({
  namespace: dnsLabel.default('igbackup'),
  image: z.string().min(1),
  serviceAccount: dnsName.default('igbackup'),
  /** IRSA / workload identity: annotations for the ServiceAccount (e.g. eks.amazonaws.com/role-arn). */
  serviceAccountAnnotations: z.record(z.string(), z.string()).default({}),
  /**
   * Secret with the env vars the config references (passwords), loaded with envFrom; files the backup reads
   * ({file:} secrets, SSH keys, kubeconfig...) are mounted from it too, each from the key named like the file.
   */
  secretName: dnsName.default('igbackup-secrets'),
  /**
   * The prune job's own identity (schedule.prune): a ServiceAccount (its IRSA role: the prune role of
   * `igbackup storage policy`) and a Secret (its S3 credentials), never the backup job's. Defaults: <name>-prune.
   */
  pruneServiceAccount: dnsName.optional(),
  pruneServiceAccountAnnotations: z.record(z.string(), z.string()).default({}),
  pruneSecretName: dnsName.optional(),
  /** ConfigMap holding igbackup.yaml, mounted at /etc/igbackup. */
  configMap: dnsName.default('igbackup-config'),
  /** Namespace of the databases (the Role for exec/scale is created there). */
  targetNamespace: dnsLabel,
  startingDeadlineSeconds: z.number().int().min(1).max(86_400).default(300),
  backoffLimit: z.number().int().min(0).max(100).default(1),
  successfulJobsHistoryLimit: z.number().int().min(0).max(100).default(3),
  failedJobsHistoryLimit: z.number().int().min(0).max(100).default(5),
  activeDeadlineSeconds: z.number().int().min(60).max(604_800).default(3600),
  resources: z
    .strictObject({
      requests: z.record(z.string(), z.string()).default({ cpu: '250m', memory: '256Mi' }),
      limits: z.record(z.string(), z.string()).default({ memory: '512Mi' }),
    })
    .prefault({}),
});

export const scheduleSchema = z.strictObject({
  postgres: cronSchema.optional(),
  redis: cronSchema.optional(),
  neo4j: cronSchema.optional(),
  /** With postgres.pitr: base backups (full weekly, diff daily) and the heartbeat the physical drill measures the RPO by. */
  postgresPhysical: z
    .strictObject({
      full: cronSchema.default('0 1 * * 0'),
      diff: cronSchema.default('0 1 * * 1-6'),
      heartbeat: cronSchema.default('* * * * *'),
    })
    .prefault({}),
  /** With redis: `igbackup redis heartbeat` on this schedule (every minute for a 5-minute tier); drills and status measure the RPO by it. */
  redisHeartbeat: cronSchema.optional(),
  /**
   * `igbackup prune --env E --yes` on this schedule, with credentials of its own (the prune role): in Kubernetes its
   * own ServiceAccount and Secret, on a VM its own env file (pruneEnvFile). The backup job's credentials never delete.
   */
  prune: cronSchema.optional(),
  pruneEnvFile: absolutePath.default('/etc/igbackup/igbackup-prune.env'),
  configPath: absolutePath.default('/etc/igbackup/igbackup.yaml'),
  envFile: absolutePath.default('/etc/igbackup/igbackup.env'),
  logDir: absolutePath.default('/var/log/igbackup'),
  lockDir: absolutePath.default('/var/lock'),
  bin: absolutePath.default('/usr/local/bin/igbackup'),
  kubernetes: kubernetesScheduleSchema.optional(),
});
export type ScheduleConfig = z.infer<typeof scheduleSchema>;
