// What `status` reports for a PostgreSQL cluster with point-in-time recovery: the RPO is the archiving lag
// (pg_stat_archiver against the current WAL position), and the newest base backup's age against its limit.

import { messageOf } from '../../../domain/errors.js';
import { archiveLag, type ArchiveLag, type ArchiverState } from '../../../engines/postgres/pitr-info.js';
import { pitrSql } from '../../../engines/postgres/pitr.js';
import type { AppContext, EnvHandle } from '../../context.js';
import type { StatusRow } from '../../status.js';
import { stanzaInfo } from './backup.js';
import { openPitr, queryJson } from './context.js';

export interface PitrStatus {
  cluster: string;
  repository: string;
  lag: ArchiveLag;
  /** The newest complete base backup (undefined: none). */
  lastBaseBackup?: { label: string; type: string; finishedAt: string; ageHours: number } | undefined;
  maxBaseBackupAgeHours: number;
  /** What breaches the tier or the base-backup limit, in words (empty: healthy). */
  breaches: string[];
}

export async function pitrStatus(
  ctx: AppContext,
  h: EnvHandle,
  rpoTargetMinutes: number | undefined,
): Promise<PitrStatus> {
  const t = await openPitr(ctx, h);
  try {
    const breaches: string[] = [];
    let lag: ArchiveLag;
    try {
      lag = archiveLag(await queryJson<ArchiverState>(t, pitrSql.archiver(), 'archiver state'), t.p.archiveTimeoutSec);
    } catch (err) {
      lag = {
        state: 'never',
        rpoSeconds: undefined,
        detail: `the archiver could not be read: ${messageOf(err).split('\n')[0]}`,
      };
    }
    if (lag.state === 'failing' || lag.state === 'never') breaches.push(lag.detail);
    else if (rpoTargetMinutes !== undefined && (lag.rpoSeconds ?? Infinity) > rpoTargetMinutes * 60) {
      breaches.push(`archiving lag ${lag.rpoSeconds} s over the tier's RPO of ${rpoTargetMinutes} min: ${lag.detail}`);
    }
    const newest = await stanzaInfo(t)
      .then((i) => i.backups.filter((b) => !b.error).at(-1))
      .catch((err: unknown) => {
        breaches.push(`the repository could not be read: ${messageOf(err).split('\n')[0]}`);
        return undefined;
      });
    const now = ctx.now().getTime();
    const lastBaseBackup = newest && {
      label: newest.label,
      type: newest.type,
      finishedAt: newest.finishedAt,
      ageHours: Math.round(((now - Date.parse(newest.finishedAt)) / 3_600_000) * 10) / 10,
    };
    if (!lastBaseBackup) breaches.push('no base backup yet (igbackup backup postgres --physical)');
    else if (lastBaseBackup.ageHours > t.p.maxBaseBackupAgeHours) {
      breaches.push(
        `the newest base backup is ${lastBaseBackup.ageHours} h old (limit ${t.p.maxBaseBackupAgeHours} h)`,
      );
    }
    return {
      cluster: t.p.cluster,
      repository: t.repoUrl,
      lag,
      lastBaseBackup,
      maxBaseBackupAgeHours: t.p.maxBaseBackupAgeHours,
      breaches,
    };
  } finally {
    await t.transport.close();
  }
}

/**
 * The PostgreSQL rows of an env with PITR: the RPO is the archiving lag (what a loss of the host now would lose),
 * judged against the tier; the logical dumps stay listed but no longer set the RPO.
 */
export function withPitr(rows: StatusRow[], ps: PitrStatus): StatusRow[] {
  return rows.map((r) => {
    if (r.engine !== 'postgres') return r;
    const drillBad = r.breached && r.reason.startsWith('the last drill failed');
    const breached = ps.breaches.length > 0 || drillBad;
    return {
      ...r,
      rpoSeconds: ps.lag.rpoSeconds,
      breached,
      reason: ps.breaches.length
        ? `PITR: ${ps.breaches.join('; ')}`
        : drillBad
          ? r.reason
          : `PITR (${ps.lag.state}): ${ps.lag.detail}`,
    };
  });
}

/** The PITR status, or a breach naming why it could not be read (a transport or config that fails is no "ok"). */
export async function pitrStatusSafe(
  ctx: AppContext,
  h: EnvHandle,
  rpoTargetMinutes: number | undefined,
): Promise<PitrStatus> {
  try {
    return await pitrStatus(ctx, h, rpoTargetMinutes);
  } catch (err) {
    const detail = `PITR status could not be read: ${messageOf(err).split('\n')[0]}`;
    return {
      cluster: h.env.postgres?.pitr?.cluster ?? 'main',
      repository: '?',
      lag: { state: 'never', rpoSeconds: undefined, detail },
      maxBaseBackupAgeHours: h.env.postgres?.pitr?.maxBaseBackupAgeHours ?? 0,
      breaches: [detail],
    };
  }
}
