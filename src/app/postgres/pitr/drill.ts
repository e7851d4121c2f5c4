// Use case `drill postgres --physical`: a physical restore into a throwaway directory on a spare port (never the
// source), the configured SQL smoke tests against it, the RTO measured, and the RPO it achieved: the newest heartbeat
// present in the copy against the recovery target. The copy is stopped and removed whatever happened (unless --keep).

import { DriftError } from '../../../domain/errors.js';
import { controlKeys } from '../../../domain/keys.js';
import * as pg from '../../../engines/postgres/commands.js';
import * as pitr from '../../../engines/postgres/pitr.js';
import { pitrSql } from '../../../engines/postgres/pitr.js';
import { capture } from '../../../transports/run.js';
import { succeeded } from '../../../transports/transport.js';
import { selectEnv, type AppContext, type EnvHandle } from '../../context.js';
import { drillSubject, errorText, finish, type DrillCheck, type DrillReport } from '../../drill/report.js';
import { withLock } from '../../lock.js';
import { openPitr, type PitrTarget } from './context.js';
import { restoreCopy, type PhysicalRestoreResult } from './restore.js';

export interface PhysicalDrillReport extends DrillReport {
  /** The newest heartbeat in the copy against the recovery target (undefined: no heartbeat found). */
  achievedRpoSeconds?: number | undefined;
}

export async function physicalDrill(
  ctx: AppContext,
  o: { env: string; to?: string | undefined; keep: boolean; forceUnlock?: boolean | undefined },
): Promise<PhysicalDrillReport> {
  const h = selectEnv(ctx, o.env);
  const scope = { operation: 'drill' as const, engine: 'postgres-physical' };
  const report = await withLock(ctx, h, scope, { forceUnlock: Boolean(o.forceUnlock) }, () => drillOnce(ctx, h, o));
  await h.store.putBytes(
    controlKeys.drillReport(h.store.prefix, h.name, 'postgres', report.database, new Date(report.startedAt)),
    `${JSON.stringify(report, null, 2)}\n`,
  );
  if (!report.ok) {
    throw new DriftError(
      `physical drill failed: ${
        report.error ??
        (report.checks
          .filter((c) => !c.ok)
          .map((c) => `${c.name} (${c.detail})`)
          .join('; ') ||
          `RTO ${report.rtoSeconds} s over the target`)
      }`,
      { hint: 'the drill report is stored next to the backups' },
    );
  }
  return report;
}

async function drillOnce(ctx: AppContext, h: EnvHandle, o: { env: string; to?: string | undefined; keep: boolean }) {
  const started = ctx.now();
  const clock = { started, t0: performance.now() };
  const t = await openPitr(ctx, h);
  const checks: DrillCheck[] = [];
  let error: string | undefined;
  let copy: PhysicalRestoreResult | undefined;
  let achievedRpoSeconds: number | undefined;
  try {
    copy = await restoreCopy(ctx, t, { to: o.to });
    checks.push({
      name: 'restore',
      ok: true,
      detail: `restored to ${copy.target} into ${copy.dataDir}, port ${copy.port}`,
    });
    checks.push(...(await smokeTests(t, copy)));
    const rpo = await achievedRpo(ctx, t, copy, o.to ? Date.parse(o.to) : started.getTime());
    achievedRpoSeconds = rpo.seconds;
    checks.push(rpo.check);
  } catch (err) {
    error = errorText(err);
  } finally {
    if (copy && !o.keep) await teardown(ctx, t, copy);
    await t.transport.close();
  }
  const subject = drillSubject(
    ctx,
    { engine: 'postgres', database: `${t.p.cluster}-physical`, key: t.repoUrl, keep: o.keep },
    clock,
  );
  const target = copy ? `${copy.dataDir} (port ${copy.port})` : 'none';
  return { ...finish(ctx, h, subject, { target, checks, error }), achievedRpoSeconds };
}

/** The env's SQL checks (drill.postgres), each in its database (default: the maintenance database) of the copy. */
async function smokeTests(t: PitrTarget, copy: PhysicalRestoreResult): Promise<DrillCheck[]> {
  const conn = { ...t.conn, host: '127.0.0.1', port: copy.port };
  const out: DrillCheck[] = [];
  for (const c of t.h.env.drill.postgres) {
    const db = c.database ?? t.cfg.maintenanceDatabase;
    const r = await capture(t.transport, pg.psqlCommand(conn, db), `${c.sql.trim().replace(/;?$/, ';')}\n`);
    const got = r.stdout.trim();
    out.push({
      name: `${db}: ${c.sql}`,
      ok: succeeded(r) && got === c.expect,
      detail: succeeded(r) ? `got "${got}", expected "${c.expect}"` : r.stderrTail.trim(),
    });
  }
  return out;
}

/** The newest heartbeat in the copy against the moment recovered to; within the tier's RPO target when it has one. */
async function achievedRpo(ctx: AppContext, t: PitrTarget, copy: PhysicalRestoreResult, targetMs: number) {
  const conn = { ...t.conn, host: '127.0.0.1', port: copy.port };
  const r = await capture(t.transport, pg.psqlCommand(conn, t.cfg.maintenanceDatabase), pitrSql.lastBeat(t.h.name));
  const beat = succeeded(r) ? r.stdout.trim() : '';
  if (!beat) {
    const why = succeeded(r) ? 'no heartbeat of this env' : r.stderrTail.trim().split('\n')[0];
    return {
      seconds: undefined,
      check: {
        name: 'achieved RPO',
        ok: false,
        detail: `${why} in the copy: schedule igbackup pitr heartbeat --env ${t.h.name}`,
      },
    };
  }
  const seconds = Math.max(0, Math.round((targetMs - Date.parse(beat)) / 1000));
  const tier = t.h.env.tier ? ctx.config.tiers[t.h.env.tier] : undefined;
  const limit = tier ? tier.rpoMinutes * 60 : undefined;
  return {
    seconds,
    check: {
      name: 'achieved RPO',
      ok: limit === undefined || seconds <= limit,
      detail: `newest heartbeat in the copy ${beat}: ${seconds} s before the target${limit === undefined ? '' : ` (tier target ${limit} s)`}`,
    },
  };
}

/** Stops the copy and removes its directory; a failure is said (the copy may be left) but does not hide the result. */
async function teardown(ctx: AppContext, t: PitrTarget, copy: PhysicalRestoreResult): Promise<void> {
  ctx.reporter.step(`drill: stopping the copy on port ${copy.port} and removing ${copy.dataDir}`);
  const as = t.p.runAs;
  const stop = await capture(t.transport, pitr.stopNowCommand(t.p, copy.pgBin, copy.dataDir));
  const rm = await capture(t.transport, { argv: [...as, 'rm', '-rf', '--', copy.dataDir] });
  if (!succeeded(rm)) {
    ctx.reporter.warn(
      `drill: the copy in ${copy.dataDir} could not be removed (${rm.stderrTail.trim()}${succeeded(stop) ? '' : `; stop: ${stop.stderrTail.trim()}`}): remove it by hand`,
    );
  }
}
