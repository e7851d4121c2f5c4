// Prometheus metrics (prom-client): rendered by `status --format prometheus`, pushed or written by backups.

import { rename, writeFile } from 'node:fs/promises';
import { Gauge, Pushgateway, Registry } from 'prom-client';
import type { EnvConfig } from '../config/schema.js';
import type { PitrStatus } from './postgres/pitr/status.js';
import type { StatusResult } from './status.js';
import type { AppContext } from './context.js';

const LABELS = ['env', 'engine', 'database'] as const;

function gauges(reg: Registry) {
  const g = (name: string, help: string): Gauge<(typeof LABELS)[number]> =>
    new Gauge({ name, help, labelNames: LABELS, registers: [reg] });
  return {
    lastSuccess: g(
      'igbackup_last_success_timestamp_seconds',
      'Finish time of the newest complete backup (Unix seconds).',
    ),
    rpo: g('igbackup_rpo_seconds', 'Age of the newest complete backup: the data that would be lost now.'),
    rpoTarget: g('igbackup_rpo_target_seconds', "RPO target of the env's tier."),
    rtoTarget: g('igbackup_rto_target_seconds', "RTO target of the env's tier."),
    bytes: g('igbackup_backup_bytes', 'Stored size of the newest complete backup.'),
    duration: g('igbackup_backup_duration_seconds', 'How long the newest complete backup took.'),
    breached: g('igbackup_target_breached', '1 when a recovery target is breached (or no backup exists).'),
    rto: g('igbackup_rto_seconds', 'RTO measured by the newest restore drill (download + restore + checks).'),
    drillOk: g('igbackup_last_drill_success', '1 when the newest restore drill passed.'),
  };
}

/** A registry holding the status of every configured database. */
export function statusRegistry(s: StatusResult): Registry {
  const reg = new Registry();
  const m = gauges(reg);
  for (const r of s.rows) {
    const l = { env: s.env, engine: r.engine, database: r.database };
    if (r.lastSuccess) m.lastSuccess.set(l, Date.parse(r.lastSuccess) / 1000);
    if (r.rpoSeconds !== undefined) m.rpo.set(l, r.rpoSeconds);
    if (r.rpoTargetSeconds !== undefined) m.rpoTarget.set(l, r.rpoTargetSeconds);
    if (r.rtoTargetSeconds !== undefined) m.rtoTarget.set(l, r.rtoTargetSeconds);
    if (r.lastBytes !== undefined) m.bytes.set(l, r.lastBytes);
    if (r.lastDurationMs !== undefined) m.duration.set(l, r.lastDurationMs / 1000);
    m.breached.set(l, r.breached ? 1 : 0);
    if (r.lastDrill) {
      m.rto.set(l, r.lastDrill.rtoSeconds);
      m.drillOk.set(l, r.lastDrill.ok ? 1 : 0);
    }
  }
  if (s.pitr) pitrGauges(reg, s.env, s.pitr);
  return reg;
}

/** Point-in-time recovery of the env's cluster: the archiving lag, whether archiving works, the newest base backup. */
function pitrGauges(reg: Registry, env: string, p: PitrStatus): void {
  const g = (name: string, help: string) =>
    new Gauge({ name, help, labelNames: ['env', 'cluster'] as const, registers: [reg] });
  const l = { env, cluster: p.cluster };
  const lag = g('igbackup_pitr_archive_lag_seconds', 'What a loss of the host now could lose: the archiving lag.');
  if (p.lag.rpoSeconds !== undefined) lag.set(l, p.lag.rpoSeconds);
  g('igbackup_pitr_archiving_ok', '1 when every closed WAL segment reaches the repository.').set(
    l,
    p.lag.state === 'ok' ? 1 : 0,
  );
  const age = g('igbackup_pitr_base_backup_age_seconds', 'Age of the newest complete base backup.');
  if (p.lastBaseBackup) age.set(l, Math.round(p.lastBaseBackup.ageHours * 3600));
  g('igbackup_pitr_breached', '1 when archiving or the base backups breach their targets.').set(
    l,
    p.breaches.length ? 1 : 0,
  );
}

/** After a backup: push to the Pushgateway and/or write the node-exporter textfile, as configured. */
export async function publishMetrics(ctx: AppContext, env: EnvConfig, s: StatusResult): Promise<void> {
  const cfg = env.metrics;
  if (!cfg) return;
  const reg = statusRegistry(s);
  if (cfg.pushgateway) {
    try {
      await new Pushgateway(cfg.pushgateway, { timeout: 10_000 }, reg).pushAdd({
        jobName: cfg.job,
        groupings: { env: s.env },
      });
    } catch (err) {
      ctx.reporter.warn(`could not push metrics to ${cfg.pushgateway}: ${(err as Error).message}`);
    }
  }
  if (cfg.textfile) {
    const tmp = `${cfg.textfile}.${process.pid}.tmp`;
    await writeFile(tmp, await reg.metrics());
    await rename(tmp, cfg.textfile); // node-exporter must never read half a file
  }
}
