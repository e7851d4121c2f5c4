// The changing part of a PostgreSQL restore: pg_restore into a scratch database, then the swap in of the scratch
// database for the target (the replaced one set aside, then dropped unless kept); a failed restore drops the scratch.

import { setTimeout as sleep } from 'node:timers/promises';
import { ProcessFailedError } from '../../domain/errors.js';
import { mainArtifact, type Manifest } from '../../domain/manifest.js';
import { quoteIdent } from '../../domain/names.js';
import * as pg from '../../engines/postgres/commands.js';
import { decompressStage } from '../../pipeline/compress.js';
import { feedFile } from '../../pipeline/restore-stream.js';
import { capture } from '../../transports/run.js';
import { succeeded, type Transport } from '../../transports/transport.js';
import type { AppContext } from '../context.js';
import { scratchStamp } from '../scratch.js';

export interface SwapInput {
  transport: Transport;
  conn: pg.PgConnection;
  admin: (sql: string) => Promise<string>;
  m: Manifest;
  dumpPath: string;
  /** dumpPath holds the decompressed archive (for pg_restore --jobs). */
  plain: boolean;
  jobs: number;
  /** Session settings for pg_restore (postgres.restoreSettings). */
  settings: Record<string, string>;
  target: string;
  /** --keep-old and --no-owner of the restore. */
  opts: { keepOld?: boolean | undefined; noOwner?: boolean | undefined };
}

/**
 * Restores into a fresh scratch database, then swaps it in for the target in one transaction (the old one set aside,
 * then dropped unless --keep-old); the scratch database is dropped when anything before the swap fails.
 */
export async function restoreAndSwap(
  ctx: AppContext,
  s: SwapInput,
): Promise<{ replaced: boolean; keptOldAs?: string }> {
  const stamp = scratchStamp(ctx.now(), '_');
  const scratch = pg.scratchName(s.target, 'restore', stamp);
  const aside = pg.scratchName(s.target, 'old', stamp);
  const settingsRow = (await s.admin(pg.sql.databaseSettings(s.target))).trim();
  const exists = settingsRow.length > 0;
  const [encoding, collate, ctype] = settingsRow.split('|');
  const settings = exists && encoding && collate && ctype ? { encoding, collate, ctype } : undefined;

  ctx.reporter.step(`restoring into scratch database ${scratch}`);
  await s.admin(pg.sql.createDatabase(scratch, settings));
  try {
    await runPgRestore(ctx, s, scratch);
    if (exists) {
      const sessions = Number((await s.admin(pg.sql.sessionsOn(s.target))).trim());
      if (sessions > 0) ctx.reporter.warn(`ending ${sessions} session(s) connected to ${s.target} for the swap`);
    }
    ctx.reporter.step(
      exists
        ? `swapping ${scratch} in as ${s.target} (its owner, privileges, settings and comment carried over; the old one set aside)`
        : `renaming ${scratch} to ${s.target}`,
    );
    await s.admin(pg.sql.swap(s.target, scratch, aside, exists));
  } catch (err) {
    await dropDatabase(s.admin, scratch).catch((e: unknown) =>
      ctx.reporter.warn(
        `could not drop scratch database ${scratch}: ${(e as Error).message.trim()} (drop it by hand: DROP DATABASE ${quoteIdent(scratch)};)`,
      ),
    );
    throw err;
  }
  if (!exists) return { replaced: false };
  if (s.opts.keepOld) return { replaced: true, keptOldAs: aside };
  ctx.reporter.step(`dropping the replaced database (${aside})`);
  await dropDatabase(s.admin, aside).catch((e: unknown) =>
    ctx.reporter.warn(
      `restore done, but the replaced database ${aside} could not be dropped: ${(e as Error).message.trim()} (drop it by hand: DROP DATABASE ${quoteIdent(aside)};)`,
    ),
  );
  return { replaced: true };
}

/**
 * DROP DATABASE ... WITH (FORCE); a role that may not end other processes (autovacuum working in a freshly loaded
 * database, say) gets a plain DROP DATABASE instead, which ends autovacuum by itself, tried a few times.
 */
async function dropDatabase(admin: (sql: string) => Promise<string>, db: string): Promise<void> {
  try {
    await admin(pg.sql.dropDatabase(db));
    return;
  } catch (err) {
    let last = err;
    for (let attempt = 0; attempt < 5; attempt++) {
      await sleep(1000);
      try {
        await admin(pg.sql.dropDatabasePlain(db));
        return;
      } catch (e) {
        last = e;
      }
    }
    throw last;
  }
}

/** pg_restore into database: from the seekable file with --jobs, or the stored artifact streamed into one job. */
async function runPgRestore(ctx: AppContext, s: SwapInput, database: string): Promise<void> {
  const noOwner = s.opts.noOwner ?? false;
  try {
    if (s.plain) {
      const r = await capture(
        s.transport,
        pg.restoreCommand(s.conn, database, { jobs: s.jobs, file: s.dumpPath, noOwner, settings: s.settings }),
      );
      if (!succeeded(r)) throw new ProcessFailedError('pg_restore', r);
      return;
    }
    const cmd = s.transport.start(pg.restoreCommand(s.conn, database, { jobs: 1, noOwner, settings: s.settings }));
    cmd.stdout.resume();
    const total = mainArtifact(s.m).bytes;
    await feedFile(
      s.dumpPath,
      decompressStage(s.m.compression, ctx.runner),
      cmd,
      (b) => ctx.reporter.progress(b, total),
      mainArtifact(s.m).rawBytes,
    );
  } catch (err) {
    // The dump's objects belong to roles this role may not act as (or that do not exist here): say how to go on.
    if (
      !noOwner &&
      err instanceof ProcessFailedError &&
      /must be (a )?member of role|role ".*" does not exist/.test(err.stderrTail)
    ) {
      throw new ProcessFailedError('pg_restore', err, {
        hint: 'the dump names owners this role cannot set: restore with --no-owner (objects then belong to the restoring role), or first restore the roles with --with-globals; the target was not touched',
      });
    }
    throw err;
  }
}
