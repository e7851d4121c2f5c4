// What `status` reports for a PostgreSQL cluster with point-in-time recovery: the RPO is the archiving lag
// (pg_stat_archiver against the current WAL position), and the newest base backup's age against its limit.

import { messageOf } from '../../domain/errors.js';
import { archiveLag, type ArchiveLag, type ArchiverState } from '../../engines/postgres/pitr-info.js';
import { pitrSql } from '../../engines/postgres/pitr.js';
import type { AppContext, EnvHandle } from '../context.js';
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
