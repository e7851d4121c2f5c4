// `igbackup schedule crontab|k8s`: print crontab lines for a VM host, or CronJob + RBAC manifests for Kubernetes.

import type { Command } from 'commander';
import { buildContext, globalsOf, type CliDeps } from './globals.js';

export function registerSchedule(program: Command, deps: CliDeps): void {
  const schedule = program.command('schedule').description('render backup schedules (printed, never applied)');
  schedule
    .command('crontab')
    .description('crontab lines for a VM host: flock against overlaps, the env file for secrets, a log per job')
    .requiredOption('-e, --env <name>', 'environment from the config')
    .action(async (flags: { env: string }, cmd: Command) => {
      const g = globalsOf(cmd);
      const out = deps.output(g);
      const ctx = await buildContext(deps, g, out);
      const text = (await loadSchedule()).scheduleCrontab(ctx, flags);
      out.json({ ok: true, command: 'schedule crontab', crontab: text });
      if (!g.json) out.opts.stdout.write(text);
    });
  schedule
    .command('k8s')
    .description(
      'CronJobs (concurrencyPolicy Forbid, secrets by envFrom) plus ServiceAccount/Role/RoleBinding, validated against the Kubernetes schemas',
    )
    .requiredOption('-e, --env <name>', 'environment from the config')
    .action(async (flags: { env: string }, cmd: Command) => {
      const g = globalsOf(cmd);
      const out = deps.output(g);
      const ctx = await buildContext(deps, g, out);
      const r = (await loadSchedule()).scheduleK8s(ctx, flags);
      out.json({ ok: true, command: 'schedule k8s', objects: r.objects });
      if (!g.json) out.opts.stdout.write(r.yaml);
    });
}

/** Loaded when a schedule is rendered: the Kubernetes schemas are most of the CLI's modules. */
function loadSchedule(): Promise<typeof import('../app/schedule.js')> {
  return import('../app/schedule.js');
}
