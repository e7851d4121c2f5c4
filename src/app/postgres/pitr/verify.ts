// Use case `verify postgres --physical`: pgBackRest reads every file of every base backup and every WAL segment in the
// repository and checks them against their recorded checksums (pgbackrest verify); it touches no database.

import { IntegrityError, ProcessFailedError } from '../../../domain/errors.js';
import * as pitrInfo from '../../../engines/postgres/pitr-info.js';
import * as pitrRepo from '../../../engines/postgres/pitr-repo.js';
import { succeeded } from '../../../transports/transport.js';
import { selectEnv, type AppContext } from '../../context.js';
import { stanzaInfo } from './backup.js';
import { openPitr, pgbackrestOk, queryJson, runPgbackrest, type PitrTarget } from './context.js';

export interface PhysicalVerifyResult {
  env: string;
  cluster: string;
  repository: string;
  backups: number;
  walMin?: string | undefined;
  walMax?: string | undefined;
  durationMs: number;
}

export async function physicalVerify(ctx: AppContext, o: { env: string }): Promise<PhysicalVerifyResult> {
  const t = await openPitr(ctx, selectEnv(ctx, o.env));
  try {
    const info = await stanzaInfo(t);
    ctx.reporter.step(
      `pgbackrest verify: every file of ${info.backups.length} base backup(s) and the WAL in ${t.repoUrl}`,
    );
    const t0 = performance.now();
    const r = await runPgbackrest(t, ['verify', `--process-max=${t.p.processMax}`, '--log-level-console=info']);
    const durationMs = Math.round(performance.now() - t0);
    const said = `${r.stdout}\n${r.stderrTail}`;
    // pgBackRest 2.45 exits 0 even when it found damage (measured): its summary is the verdict, not its exit status.
    const damage = pitrRepo.verifyDamage(said);
    if (damage) {
      throw new IntegrityError(`pgbackrest verify found damage in ${t.repoUrl}:\n${damage}`, {
        hint: 'take a new full base backup (igbackup backup postgres --physical --type full) and find what damaged the repository; a backup marked invalid cannot be restored',
      });
    }
    if (!succeeded(r)) {
      throw new ProcessFailedError('pgbackrest verify', r, { hint: `see pgBackRest's log under ${t.p.workDir}/log` });
    }
    await checkContinuity(t, info);
    return {
      env: t.h.name,
      cluster: t.p.cluster,
      repository: t.repoUrl,
      backups: info.backups.length,
      walMin: info.walMin,
      walMax: info.walMax,
      durationMs,
    };
  } finally {
    await t.transport.close();
  }
}

/**
 * Every WAL segment from the oldest base backup's start to the newest segment is in the repository: pgBackRest's verify
 * checks the files that are there, not the ones that are missing (measured: a segment deleted in the middle passes), and
 * a restore past a missing segment stops there.
 */
async function checkContinuity(t: PitrTarget, info: pitrInfo.StanzaInfo): Promise<void> {
  const oldest = info.backups.find((b) => !b.error && b.walStart);
  if (!oldest || !info.walMax || !info.archiveId) return;
  const where = `archive/${t.p.cluster}/${info.archiveId}`;
  const listed = await pgbackrestOk(t, ['repo-ls', '--recurse', '--output=json', where], `pgbackrest repo-ls ${where}`);
  const names = Object.keys(JSON.parse(listed) as object);
  const timeline = info.walMax.slice(0, 8);
  let history = '';
  if (timeline !== '00000001') {
    // The target timeline's history says which timeline each position must be read from.
    if (!names.includes(`${timeline}.history`)) {
      throw new IntegrityError(
        `the WAL archive in ${t.repoUrl} lacks ${timeline}.history: a restore cannot follow timeline ${timeline} past its start`,
        {
          hint: 'take a new full base backup now (igbackup backup postgres --physical --type full), then find what removed it',
        },
      );
    }
    history = await pgbackrestOk(
      t,
      ['repo-get', `${where}/${timeline}.history`],
      `pgbackrest repo-get ${where}/${timeline}.history`,
    );
  }
  // The segment size places the history's switch points: the source's setting, or PostgreSQL's default without it.
  const size = await queryJson<{ bytes: number }>(t, pitrInfo.WAL_SEGMENT_SIZE_SQL, 'wal_segment_size').catch(
    () => undefined,
  );
  const bytes = size && Number.isInteger(size.bytes) && size.bytes >= 1 << 20 ? size.bytes : undefined;
  const gaps = pitrRepo.walGaps(names, oldest.walStart, info.walMax, history, bytes);
  if (!gaps.count) return;
  throw new IntegrityError(
    `the WAL archive in ${t.repoUrl} misses ${gaps.count} segment(s) between ${oldest.walStart} (the oldest base backup's start) and ${info.walMax}: ${gaps.missing.join(', ')}${gaps.count > gaps.missing.length ? ', …' : ''}; a restore to any moment after the first of them stops there`,
    {
      hint: 'take a new full base backup now (igbackup backup postgres --physical --type full): moments before it that need a missing segment are lost; then find what removed the segments (a lifecycle rule, a prune by another tool, a person)',
    },
  );
}
