// Use case `pitr enable`: archiving to the env's bucket through pgBackRest, idempotently. Reads the server's settings
// first and changes nothing when another archiver owns archive_command or a restart would be needed without
// --restart; then writes pgbackrest.conf (mode 600), creates the stanza, sets archive_command and archive_timeout
// (ALTER SYSTEM + reload, or + restart), and proves the round trip with `pgbackrest check`.

import { ConfigError, IgbackupError, ProcessFailedError } from '../../../domain/errors.js';
import * as pitr from '../../../engines/postgres/pitr.js';
import { capture, captureOk } from '../../../transports/run.js';
import { succeeded } from '../../../transports/transport.js';
import { shJoin } from '../../../transports/wrapper.js';
import { selectEnv, type AppContext, type EnvHandle } from '../../context.js';
import { withLock } from '../../lock.js';
import { waitUntil } from '../../wait.js';
import * as pg from '../../../engines/postgres/commands.js';
import { parseStanzaInfo } from '../../../engines/postgres/pitr-info.js';
import {
  caCertificate,
  openPitr,
  pgbackrestOk,
  queryJson,
  renderConf,
  runPgbackrest,
  type PitrTarget,
} from './context.js';

export interface EnableReport {
  env: string;
  cluster: string;
  repository: string;
  pgbackrest: string;
  archiveCommand: string;
  archiveTimeoutSec: number;
  /** What this run changed (empty: it was already enabled as configured). */
  changed: string[];
  restarted: boolean;
  dryRun: boolean;
  checkMs?: number | undefined;
}

export async function pitrEnable(
  ctx: AppContext,
  o: { env: string; dryRun: boolean; restart: boolean },
): Promise<EnableReport> {
  const h = selectEnv(ctx, o.env);
  // One enable per env at a time (two at once would race on the config file and the server's settings).
  return withLock(ctx, h, { operation: 'backup', engine: 'postgres-pitr' }, { forceUnlock: false }, () =>
    enable(ctx, h, o),
  );
}

async function enable(
  ctx: AppContext,
  h: EnvHandle,
  o: { env: string; dryRun: boolean; restart: boolean },
): Promise<EnableReport> {
  const t = await openPitr(ctx, h);
  try {
    const settings = await queryJson<pitr.PitrSettings>(t, pitr.pitrSql.settings(), 'archiving settings');
    const plan = pitr.planEnable(settings, t.p);
    refuse(t, plan, o.restart || o.dryRun);
    const version = await pgbackrestVersion(t);
    const report: EnableReport = {
      env: t.h.name,
      cluster: t.p.cluster,
      repository: t.repoUrl,
      pgbackrest: version,
      archiveCommand: pitr.archiveCommand(t.p),
      archiveTimeoutSec: t.p.archiveTimeoutSec,
      changed: [
        ...plan.restart.map((s) => `${s} (restart)`),
        ...(plan.reload ? ['archive_command', 'archive_timeout'] : []),
      ],
      restarted: false,
      dryRun: o.dryRun,
    };
    if (o.dryRun) return report;
    await writeConfig(ctx, t);
    await createStanza(ctx, t);
    await configureServer(ctx, t, plan, report);
    ctx.reporter.step('pgbackrest check (forces a WAL switch and waits until the segment is in the repository)');
    const t0 = performance.now();
    await pgbackrestOk(t, ['check'], checkHint(t));
    report.checkMs = Math.round(performance.now() - t0);
    return report;
  } finally {
    await t.transport.close();
  }
}

/** What must stop the run before anything changes: a foreign archiver, a needed restart, the server's problems. */
function refuse(t: PitrTarget, plan: pitr.EnablePlan, restart: boolean): void {
  if (plan.problems.length) {
    throw new ConfigError(`pitr enable for env "${t.h.name}" cannot go on: ${plan.problems.join('; ')}`, [], {
      hint: 'fix the above; nothing was changed',
    });
  }
  if (plan.foreign !== undefined && /pgbackrest\b.*--stanza=/.test(plan.foreign)) {
    throw new ConfigError(
      `this server already archives through pgBackRest with another configuration: archive_command = '${plan.foreign}'`,
      [],
      {
        hint: `another igbackup env (or a pgBackRest set up by hand) archives this cluster; igbackup never overrides it: use that env, or reset archive_command first (ALTER SYSTEM RESET archive_command) if env ${t.h.name} should archive it`,
      },
    );
  }
  if (plan.foreign !== undefined) {
    throw new ConfigError(`another tool already archives WAL on this server: archive_command = '${plan.foreign}'`, [], {
      hint: 'igbackup never overrides an existing archiver (e.g. an operator such as Crunchy PGO, CloudNativePG, Spilo); to hand archiving to igbackup, remove it first (ALTER SYSTEM RESET archive_command) and run pitr enable again',
    });
  }
  if (plan.restart.length && !restart) {
    throw new ConfigError(`${plan.restart.join(' and ')} must change, which needs a restart of PostgreSQL`, [], {
      hint: `run again with --restart (uses postgres.pitr.restart), or set ${plan.restart.map((s) => (s === 'archive_mode' ? 'archive_mode = on' : 'wal_level = replica')).join(' and ')} and restart it yourself, then run pitr enable again; nothing was changed`,
    });
  }
  if (plan.restart.length && !t.p.restart) {
    throw new ConfigError(`--restart needs postgres.pitr.restart (the command that restarts the server)`, [], {
      hint: `e.g. restart: [systemctl, restart, postgresql@15-main] in envs.${t.h.name}.postgres.pitr; nothing was changed`,
    });
  }
}

async function pgbackrestVersion(t: PitrTarget): Promise<string> {
  const r = await capture(t.transport, pitr.versionCommand(t.p));
  if (!succeeded(r)) {
    throw new ProcessFailedError(`${t.p.pgbackrest} version`, r, {
      hint: `install pgbackrest on ${t.transport.host} (the same version on every host that shares the repository; in Kubernetes the PostgreSQL image must contain it), or set postgres.pitr.pgbackrest`,
    });
  }
  return /(\d+\.\d+(?:\.\d+)?)/.exec(r.stdout)?.[1] ?? r.stdout.trim();
}

/** pgbackrest.conf and the bucket's CA certificate, written on the host through stdin (mode 600; never in argv). */
async function writeConfig(ctx: AppContext, t: PitrTarget): Promise<void> {
  const ca = await caCertificate(ctx, t);
  const hint = `runAs (${shJoin(t.p.runAs) || 'none'}) must be able to create ${t.p.workDir} and the config's directory on ${t.transport.host}`;
  if (ca !== undefined) {
    const r = await capture(t.transport, pitr.writeFileCommand(t.p, pitr.caPath(t.p)), ca);
    if (!succeeded(r)) throw new ProcessFailedError(`writing ${pitr.caPath(t.p)}`, r, { hint });
  }
  const conf = await renderConf(ctx, t, ca === undefined ? undefined : pitr.caPath(t.p));
  ctx.reporter.step(`writing ${pitr.confPath(t.p)} (mode 600)`);
  const r = await capture(t.transport, pitr.writeFileCommand(t.p, pitr.confPath(t.p)), conf);
  if (!succeeded(r)) throw new ProcessFailedError(`writing ${pitr.confPath(t.p)}`, r, { hint });
}

/**
 * stanza-create unless the repository already has the stanza: a second run then takes no pgBackRest lock (the
 * asynchronous archive-push of a busy server may hold it for a while).
 */
async function createStanza(ctx: AppContext, t: PitrTarget): Promise<void> {
  const r = await runPgbackrest(t, ['info', '--output=json']);
  const found = succeeded(r) ? parseStanzaInfo(r.stdout, t.p.cluster) : undefined;
  if (found && found.status === 'ok') return;
  ctx.reporter.step(`pgbackrest stanza-create (${t.repoUrl})`);
  await pgbackrestOk(t, ['stanza-create'], stanzaHint(t));
}

/** archive_command and archive_timeout by reload, or with archive_mode (and wal_level) by restart; then re-read. */
async function configureServer(ctx: AppContext, t: PitrTarget, plan: pitr.EnablePlan, report: EnableReport) {
  const psql = pg.psqlCommand(t.conn, t.cfg.maintenanceDatabase);
  if (plan.reload || plan.restart.length) {
    ctx.reporter.step(`ALTER SYSTEM SET archive_command, archive_timeout = ${t.p.archiveTimeoutSec}s; reload`);
    await captureOk(t.transport, psql, pitr.pitrSql.configure(t.p));
  }
  if (plan.restart.length) {
    await captureOk(t.transport, psql, pitr.pitrSql.configureRestart(plan.restart.includes('wal_level')));
    ctx.reporter.step(`restarting PostgreSQL (${shJoin(t.p.restart ?? [])})`);
    const r = await capture(t.transport, pitr.detached(t.p.restart ?? []));
    if (!succeeded(r)) throw new ProcessFailedError('the restart command (postgres.pitr.restart)', r);
    await waitUntil('PostgreSQL to accept connections after the restart', 120_000, async () =>
      succeeded(await capture(t.transport, psql, 'SELECT 1;\n')),
    );
    report.restarted = true;
  }
  const now = await queryJson<pitr.PitrSettings>(t, pitr.pitrSql.settings(), 'archiving settings');
  const left = pitr.planEnable(now, t.p);
  if (left.restart.length || left.reload || left.foreign !== undefined) {
    throw new IgbackupError(
      `the server did not take the settings: archive_mode=${now.archiveMode}, wal_level=${now.walLevel}, archive_command='${now.archiveCommand}'`,
      {
        hint: 'a setting in postgresql.conf after the include of postgresql.auto.conf, or a -c option, may override ALTER SYSTEM',
      },
    );
  }
}

function stanzaHint(t: PitrTarget): string {
  return `check the bucket ${t.s3.bucket} is reachable from ${t.transport.host} with the credentials of postgres.pitr.s3Credentials, that pitr.dataDir is the cluster's data directory, and that pgbackrest may connect as ${t.conn.user} (pgbackrest.conf: ${pitr.confPath(t.p)}; its log under ${t.p.workDir}/log)`;
}

function checkHint(t: PitrTarget): string {
  return `a WAL segment did not reach the repository: see pg_stat_archiver and PostgreSQL's log on ${t.transport.host} (archive_command runs as the server's user and must read ${pitr.confPath(t.p)}); pgBackRest's log is under ${t.p.workDir}/log`;
}
