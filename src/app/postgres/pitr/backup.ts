// Use case `backup postgres --physical`: a pgBackRest base backup (full, diff or incr) into the env's repository,
// reported from what the repository then lists (not from pgBackRest's exit alone); and the listing of base backups.

import { IgbackupError, IntegrityError, messageOf } from '../../../domain/errors.js';
import { parseStanzaInfo, type BaseBackup, type StanzaInfo } from '../../../engines/postgres/pitr-info.js';
import { selectEnv, type AppContext, type EnvHandle } from '../../context.js';
import { withLock } from '../../lock.js';
import { openPitr, pgbackrestOk, type PitrTarget } from './context.js';

export interface PhysicalBackupResult {
  env: string;
  cluster: string;
  repository: string;
  backup: BaseBackup;
  durationMs: number;
}

export async function physicalBackup(
  ctx: AppContext,
  o: { env: string; type: 'full' | 'diff' | 'incr'; forceUnlock?: boolean | undefined },
): Promise<PhysicalBackupResult> {
  const h = selectEnv(ctx, o.env);
  const scope = { operation: 'backup' as const, engine: 'postgres-physical' };
  return withLock(ctx, h, scope, { forceUnlock: Boolean(o.forceUnlock) }, async () => {
    const t = await openPitr(ctx, h);
    try {
      const before = new Set((await stanzaInfo(t)).backups.map((b) => b.label));
      ctx.reporter.step(`pgbackrest backup --type=${o.type} into ${t.repoUrl}`);
      const t0 = performance.now();
      await pgbackrestOk(t, ['backup', `--type=${o.type}`], backupHint(t));
      const durationMs = Math.round(performance.now() - t0);
      // The repository is the proof: the new backup must be listed, complete and without error.
      const made = (await stanzaInfo(t)).backups.filter((b) => !before.has(b.label));
      const backup = made.at(-1);
      if (!backup || backup.error) {
        throw new IgbackupError(
          backup
            ? `pgbackrest reported success but the repository lists ${backup.label} with errors`
            : 'pgbackrest reported success but the repository lists no new backup',
          {
            hint: `run pgbackrest verify (igbackup verify postgres --physical --env ${h.name}) and see ${t.p.workDir}/log`,
          },
        );
      }
      return { env: h.name, cluster: t.p.cluster, repository: t.repoUrl, backup, durationMs };
    } finally {
      await t.transport.close();
    }
  });
}

/** What `list` shows for PITR: the base backups and the WAL range of the env's repository. */
export interface PhysicalListing {
  cluster: string;
  repository: string;
  backups: BaseBackup[];
  walMin?: string | undefined;
  walMax?: string | undefined;
  /** Set when the repository could not be read (the rest of the listing still stands). */
  error?: string | undefined;
}

export async function listPhysical(ctx: AppContext, h: EnvHandle): Promise<PhysicalListing> {
  const t = await openPitr(ctx, h);
  try {
    const info = await stanzaInfo(t);
    return {
      cluster: t.p.cluster,
      repository: t.repoUrl,
      backups: info.backups,
      walMin: info.walMin,
      walMax: info.walMax,
    };
  } catch (err) {
    return { cluster: t.p.cluster, repository: t.repoUrl, backups: [], error: messageOf(err).split('\n')[0] };
  } finally {
    await t.transport.close();
  }
}

/** The stanza as the repository lists it; a stanza that is not there is an error naming `pitr enable`. */
export async function stanzaInfo(t: PitrTarget): Promise<StanzaInfo> {
  const out = await pgbackrestOk(t, ['info', '--output=json'], backupHint(t));
  const info = parseStanzaInfo(out, t.p.cluster);
  if (info?.statusCode === 3 || (info && /missing stanza data/i.test(info.status))) {
    // The stanza exists but its backup.info or archive.info is gone: the repository lost its index, not nothing.
    throw new IntegrityError(
      `the repository ${t.repoUrl} lost its stanza data for "${t.p.cluster}" (pgBackRest: ${info.status})`,
      {
        hint: 'do not run stanza-create over it: the bucket is versioned, so bring back the previous version of backup.info and archive.info (and their .copy files) under the stanza, then run igbackup verify postgres --physical; if they cannot be brought back, take a new full base backup after pgbackrest stanza-upgrade',
      },
    );
  }
  if (!info || /missing stanza/i.test(info.status)) {
    throw new IgbackupError(`the repository ${t.repoUrl} has no stanza "${t.p.cluster}"`, {
      hint: `run igbackup pitr enable --env ${t.h.name} first`,
    });
  }
  return info;
}

function backupHint(t: PitrTarget): string {
  return `check that archiving works (igbackup pitr enable --env ${t.h.name} runs pgbackrest check) and see pgBackRest's log under ${t.p.workDir}/log on ${t.transport.host}`;
}
