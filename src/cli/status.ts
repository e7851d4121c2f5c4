// `igbackup status`: newest backup per database, RPO now vs the tier's target; table, --json or Prometheus text.

import { InvalidArgumentError, Option, type Command } from 'commander';
import { statusRegistry } from '../app/metrics.js';
import type { PitrStatus } from '../app/postgres/pitr/status.js';
import { status, type StatusResult } from '../app/status.js';
import { DriftError } from '../domain/errors.js';
import { formatAge, formatBytes, formatDuration, table } from './format.js';
import { buildContext, globalsOf, type CliDeps } from './globals.js';

function parseAt(value: string): Date {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new InvalidArgumentError('expected an ISO 8601 time, e.g. 2026-11-24T12:00:00Z');
  return d;
}

export function registerStatus(program: Command, deps: CliDeps): void {
  program
    .command('status')
    .description(
      'per engine and database: newest complete backup, its age (RPO) against the tier target; exit 6 when a target is breached',
    )
    .requiredOption('-e, --env <name>', 'environment from the config')
    .addOption(
      new Option('--format <format>', 'output format').choices(['table', 'json', 'prometheus']).default('table'),
    )
    .option('--at <time>', 'evaluate as of this time (ISO 8601) instead of now', parseAt)
    .action(async (flags: { env: string; format: string; at?: Date }, cmd: Command) => {
      const g = globalsOf(cmd);
      const format = g.json ? 'json' : flags.format;
      const out = deps.output({ ...g, json: format === 'json' });
      const ctx = await buildContext(deps, g, out);
      const s = await status(ctx, { env: flags.env, at: flags.at });
      if (format === 'prometheus') out.opts.stdout.write(await statusRegistry(s).metrics());
      out.json({ command: 'status', ...s });
      if (format === 'table') out.text(statusTable(s));
      if (!s.ok) {
        throw new DriftError(
          `recovery target breached: ${s.rows
            .filter((r) => r.breached)
            .map((r) => `${r.engine}/${r.database} (${r.reason})`)
            .join(', ')}`,
        );
      }
    });
}

/** Point-in-time recovery: the archiving lag (the PostgreSQL rows' RPO) and the newest base backup. */
function pitrLines(p: PitrStatus): string {
  const base = p.lastBaseBackup
    ? `${p.lastBaseBackup.label} (${p.lastBaseBackup.type}), ${p.lastBaseBackup.ageHours} h old (limit ${p.maxBaseBackupAgeHours} h)`
    : 'none';
  return `PITR ${p.cluster} → ${p.repository}\n  archiving: ${p.lag.state}: ${p.lag.detail}\n  newest base backup: ${base}`;
}

/** The text table: per database its last backup, size, duration, RPO, last drill, RTO, targets and state. */
function statusTable(s: StatusResult): string {
  const now = new Date(s.at);
  const rows = [
    ['ENGINE', 'DATABASE', 'LAST BACKUP', 'SIZE', 'TOOK', 'RPO', 'TARGET', 'LAST DRILL', 'RTO', 'TARGET', 'STATE'],
  ];
  for (const r of s.rows) {
    rows.push([
      r.engine,
      r.database,
      r.lastSuccess ? formatAge(r.lastSuccess, now) : 'never',
      r.lastBytes !== undefined ? formatBytes(r.lastBytes) : '-',
      r.lastDurationMs !== undefined ? formatDuration(r.lastDurationMs) : '-',
      r.rpoSeconds !== undefined ? formatDuration(r.rpoSeconds * 1000) : '-',
      r.rpoTargetSeconds !== undefined ? formatDuration(r.rpoTargetSeconds * 1000) : '-',
      r.lastDrill ? `${formatAge(r.lastDrill.at, now)} ${r.lastDrill.ok ? 'passed' : 'FAILED'}` : 'never',
      r.lastDrill ? formatDuration(r.lastDrill.rtoSeconds * 1000) : '-',
      r.rtoTargetSeconds !== undefined ? formatDuration(r.rtoTargetSeconds * 1000) : '-',
      r.breached ? 'BREACHED' : 'ok',
    ]);
  }
  const notes = [...new Set(s.rows.flatMap((r) => (r.note ? [`${r.engine}: ${r.note}`] : [])))];
  const beats = s.rows.filter((r) => r.dataAsOf);
  const locked = s.rows.filter((r) => r.lockedUntil);
  const lines = [
    ...beats.map((r) => `${r.engine}/${r.database}: RPO counted from the heartbeat in its last backup, ${r.dataAsOf}`),
    ...notes,
    ...locked.map((r) => `${r.engine}/${r.database}: newest backup locked ${r.lockMode} until ${r.lockedUntil}`),
  ];
  return `env ${s.env}${s.tier ? ` (tier ${s.tier})` : ''} as of ${s.at}\n${table(rows)}${s.pitr ? `\n${pitrLines(s.pitr)}` : ''}${lines.map((l) => `\n${l}`).join('')}`;
}
