// Use case `restore postgres --physical --in-place`: a real recovery of the cluster itself. The server is stopped, its
// data directory moved aside (a rename: instant, nothing copied), the backup restored into a fresh directory at the
// same path, the server started and waited for until recovery has ended. Until then any failure or cancel puts the
// old directory back and starts the old server (runPlan); afterwards the old directory is kept aside, named.

import { posix } from 'node:path';
import { ConfigError, ProcessFailedError } from '../../../domain/errors.js';
import { withNote } from '../../../domain/notes.js';
import * as info from '../../../engines/postgres/pitr-info.js';
import * as pitr from '../../../engines/postgres/pitr.js';
import { capture, captureOk } from '../../../transports/run.js';
import { succeeded } from '../../../transports/transport.js';
import { shJoin } from '../../../transports/wrapper.js';
import { requireConfirmation, type ConfirmPolicy } from '../../confirm.js';
import { selectEnv, type AppContext } from '../../context.js';
import { runPlan, type Step } from '../../plan.js';
import { scratchStamp } from '../../scratch.js';
import { stanzaInfo } from './backup.js';
import { openPitr, pgbackrestOk, type PitrTarget } from './context.js';
import { checkReachedEnd, restoreHint, waitRecoveryEnd, withLog } from './restore.js';
import { requireBackupBefore } from './restore-preflight.js';

export interface InPlaceResult {
  env: string;
  cluster: string;
  dataDir: string;
  /** The data directory as it was before the restore, kept aside. */
  keptAside: string;
  target: string;
  durationMs: number;
}

export async function physicalRestoreInPlace(
  ctx: AppContext,
  o: { env: string; to?: string | undefined; confirm: ConfirmPolicy },
): Promise<InPlaceResult> {
  const h = selectEnv(ctx, o.env);
  const target = o.to === undefined ? undefined : info.parseTarget(o.to, ctx.now());
  if (target && 'problem' in target) throw new ConfigError(target.problem, []);
  const t = await openPitr(ctx, h);
  try {
    const repo = await stanzaInfo(t);
    requireBackupBefore(t, repo, target?.at);
    const pgBin = t.p.pgBin ?? `/usr/lib/postgresql/${repo.pgVersion ?? '15'}/bin`;
    await refuseTablespaces(t);
    await requireConfirmation(h.name, h.env.protected, `replace the data directory of ${t.p.cluster}`, o.confirm);
    const r: InPlace = {
      t,
      pgBin,
      to: target?.target,
      walMax: repo.walMax,
      aside: `${t.p.dataDir.replace(/\/+$/, '')}.igbackup-before-${scratchStamp(ctx.now())}`,
    };
    const t0 = performance.now();
    await runPlan(steps(ctx, r, target?.target), { reporter: ctx.reporter, signal: ctx.signal, guard: ctx.guard });
    return {
      env: h.name,
      cluster: t.p.cluster,
      dataDir: t.p.dataDir,
      keptAside: r.aside,
      target: target?.target ?? 'the end of the archive (latest)',
      durationMs: Math.round(performance.now() - t0),
    };
  } finally {
    await t.transport.close();
  }
}

interface InPlace {
  t: PitrTarget;
  pgBin: string;
  aside: string;
  to: string | undefined;
  walMax: string | undefined;
  /** The timeline history files in the repository before the restored server could add one. */
  timelinesBefore?: Set<string>;
  /** The server ran when the restore began: a rollback starts it again; one found stopped is left stopped. */
  wasRunning?: boolean;
}

/**
 * A start that failed or was cut short may have left a server running on the restored data (a start command that
 * started it and then failed, a cancel after the launch): it is stopped before anything is put back.
 */
async function stopStarted(r: InPlace, err: unknown): Promise<never> {
  const { p } = r.t;
  const res = await capture(r.t.transport, pitr.stopNowCommand(p, r.pgBin, p.dataDir));
  throw withNote(
    err,
    res.exitCode === 0 ? 'the server this start had launched was stopped' : 'no server runs on the restored data',
  );
}

/** The keys of the timeline history files in the repository's archive. */
async function repoTimelines(t: PitrTarget): Promise<Set<string>> {
  const objects = await t.h.store.list(archivePrefix(t));
  return new Set(objects.map((o) => o.key).filter((k) => /\/[0-9A-F]{8}\.history$/.test(k)));
}

async function forgetNewTimelines(t: PitrTarget, before: Set<string> | undefined): Promise<void> {
  if (!before) return;
  for (const key of await repoTimelines(t)) if (!before.has(key)) await t.h.store.delete(key);
}

function archivePrefix(t: PitrTarget): string {
  return `${pitr.repoPath(t.s3.prefix, t.h.name, t.p.cluster).replace(/^\/+/, '')}/archive/${t.p.cluster}/`;
}

function control(r: InPlace): { stop: string[]; start: string[]; status: string[] } {
  const { p } = r.t;
  const pgCtl = pitr.pgCtl(p, r.pgBin, p.dataDir).argv;
  return {
    stop: p.stop ?? [...pgCtl, '-m', 'fast', '-w', '-t', '300', 'stop'],
    start: p.start ?? [...pgCtl, '-l', posix.join(p.workDir, 'log', 'postgresql.log'), '-w', '-t', '300', 'start'],
    status: [...pgCtl, 'status'],
  };
}

function steps(ctx: AppContext, r: InPlace, to: string | undefined): Step[] {
  const { t, aside } = r;
  const { p } = t;
  const as = p.runAs;
  const c = control(r);
  const service = `PostgreSQL ${p.cluster} on ${t.transport.host}`;
  const putBack = ['sh', '-c', '[ -d "$2" ] || exit 0; rm -rf -- "$1" && mv -- "$2" "$1"', 'sh', p.dataDir, aside];
  return [
    {
      name: `stopping ${service} (${shJoin(c.stop)})`,
      run: () => stopIfRunning(r, c),
      undo: {
        get name() {
          return r.wasRunning
            ? `start the previous ${service}`
            : `leave ${service} stopped, as it was found (start: ${shJoin(c.start)})`;
        },
        service,
        manual: [shJoin(c.start)],
        run: async () => {
          if (r.wasRunning) await captureOk(t.transport, pitr.detached(c.start));
        },
      },
    },
    {
      name: `moving ${p.dataDir} aside to ${aside} (a rename: nothing is copied)`,
      // A missing data directory (the damage this restore repairs) has nothing to keep.
      run: () => ok(r, [...as, 'sh', '-c', '[ -e "$1" ] || exit 0; mv -- "$1" "$2"', 'sh', p.dataDir, aside]),
      undo: {
        name: `put ${p.dataDir} back`,
        manual: [shJoin([...as, ...putBack])],
        run: () => ok(r, [...as, ...putBack]),
      },
    },
    {
      name: `pgbackrest restore into ${p.dataDir} (${to ? `to ${to}` : 'to the end of the archive'})`,
      run: async () => {
        r.timelinesBefore = await repoTimelines(t);
        await ok(r, [...as, 'mkdir', '-m', '700', p.dataDir]);
        const args = info
          .restoreArgs({ dir: p.dataDir, to, processMax: p.processMax })
          .filter((a) => a !== '--archive-mode=off');
        await pgbackrestOk(t, args, restoreHint(t));
      },
      // A restored server that was promoted has archived its new timeline's history: a later restore to the end of
      // the archive would follow that abandoned timeline (and miss what the old cluster commits from now on).
      undo: {
        name: 'forget the timeline the restored server started (its .history in the repository)',
        run: () => forgetNewTimelines(t, r.timelinesBefore),
      },
    },
    {
      name: `starting ${service} on the restored data and waiting until recovery has ended`,
      run: () => startAndWait(ctx, r, c).catch((err: unknown) => stopStarted(r, err)),
      undo: {
        name: 'stop the server started on the restored data',
        run: () => ok(r, pitr.stopNowCommand(p, r.pgBin, p.dataDir).argv),
      },
    },
  ];
}

async function ok(r: InPlace, argv: string[]): Promise<void> {
  await captureOk(r.t.transport, { argv });
}

/** Stops the server if it runs (a crashed server has nothing to stop: the restore is often why it is down). */
async function stopIfRunning(r: InPlace, c: ReturnType<typeof control>): Promise<void> {
  const st = await capture(r.t.transport, { argv: c.status });
  // pg_ctl status: 3 not running, 4 no (valid) data directory: nothing to stop, the restore is why it runs.
  if (st.exitCode === 3 || st.exitCode === 4) return;
  if (!succeeded(st)) throw new ProcessFailedError('pg_ctl status', st);
  await ok(r, c.stop);
  r.wasRunning = true;
}

async function startAndWait(ctx: AppContext, r: InPlace, c: ReturnType<typeof control>): Promise<void> {
  const { t } = r;
  const start = await capture(t.transport, pitr.detached(c.start));
  const log = posix.join(t.p.workDir, 'log', 'postgresql.log');
  if (!succeeded(start)) throw await withLog(r.t, new ProcessFailedError('the start command', start), log);
  await waitRecoveryEnd(ctx, t, { conn: t.conn, status: c.status, log, what: 'the server' });
  if (r.to === undefined) await checkReachedEnd(t, t.conn, r.walMax);
}

/** Tablespaces live outside the data directory: moving it aside would not protect them, so this is refused. */
async function refuseTablespaces(t: PitrTarget): Promise<void> {
  const r = await capture(t.transport, { argv: [...t.p.runAs, 'ls', '-A', posix.join(t.p.dataDir, 'pg_tblspc')] });
  if (succeeded(r) && r.stdout.trim() !== '') {
    throw new ConfigError(
      `${t.p.cluster} has tablespaces outside its data directory: --in-place cannot keep them safe`,
      [],
      {
        hint: 'restore into a new directory (without --in-place) and switch over by hand',
      },
    );
  }
}
