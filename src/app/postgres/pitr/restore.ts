// Use case `restore postgres --physical`: a pgBackRest restore into a NEW data directory on the database host, to a
// time or to the end of the archive, started on a spare port and waited for until recovery has ended and it is
// promoted. The running cluster is never touched; a failure removes what the restore made (runPlan undoes).

import { posix } from 'node:path';
import { ConfigError, IgbackupError, IntegrityError, ProcessFailedError } from '../../../domain/errors.js';
import { withNote } from '../../../domain/notes.js';
import * as pg from '../../../engines/postgres/commands.js';
import type { PgConnection } from '../../../engines/postgres/commands.js';
import * as info from '../../../engines/postgres/pitr-info.js';
import * as pitr from '../../../engines/postgres/pitr.js';
import { capture, captureOk } from '../../../transports/run.js';
import { succeeded, type CommandSpec } from '../../../transports/transport.js';
import { shJoin } from '../../../transports/wrapper.js';
import { selectEnv, type AppContext } from '../../context.js';
import { runPlan, type Step } from '../../plan.js';
import { scratchStamp } from '../../scratch.js';
import { waitUntil } from '../../wait.js';
import { preflight, sparePort } from './restore-preflight.js';
import { openPitr, pgbackrestOk, type PitrTarget } from './context.js';

export interface PhysicalRestoreOptions {
  env: string;
  /** A time with its zone; undefined: to the end of the archive (--latest). */
  to?: string | undefined;
  targetDir?: string | undefined;
  port?: number | undefined;
}

export interface PhysicalRestoreResult {
  env: string;
  cluster: string;
  dataDir: string;
  port: number;
  target: string;
  durationMs: number;
  connect: string;
  promoted: true;
  /** Where pg_ctl is on the host, for whoever stops the copy (a drill tears it down). */
  pgBin: string;
}

export async function physicalRestore(ctx: AppContext, o: PhysicalRestoreOptions): Promise<PhysicalRestoreResult> {
  const t = await openPitr(ctx, selectEnv(ctx, o.env));
  try {
    return await restoreCopy(ctx, t, o);
  } finally {
    await t.transport.close();
  }
}

/** The restore into a new directory through a target already opened (a drill restores through its own). */
export async function restoreCopy(
  ctx: AppContext,
  t: PitrTarget,
  o: Omit<PhysicalRestoreOptions, 'env'>,
): Promise<PhysicalRestoreResult> {
  const target = o.to === undefined ? undefined : info.parseTarget(o.to, ctx.now());
  if (target && 'problem' in target) throw new ConfigError(target.problem, []);
  const dir = o.targetDir ?? `${t.p.dataDir.replace(/\/+$/, '')}.igbackup-${scratchStamp(ctx.now())}`;
  const { repo, port, source } = await preflight(t, target?.at, dir, o.port);
  const pgBin = t.p.pgBin ?? `/usr/lib/postgresql/${repo.pgVersion ?? '15'}/bin`;
  const t0 = performance.now();
  const run = { t, dir, port, chosen: o.port === undefined, pgBin, source, to: target?.target, walMax: repo.walMax };
  await runPlan(steps(ctx, run), { reporter: ctx.reporter, signal: ctx.signal });
  return {
    env: t.h.name,
    cluster: t.p.cluster,
    dataDir: dir,
    port: run.port,
    target: target?.target ?? 'the end of the archive (latest)',
    durationMs: Math.round(performance.now() - t0),
    connect: `psql -h 127.0.0.1 -p ${run.port} -U ${t.conn.user}`,
    promoted: true,
    pgBin,
  };
}

interface Run {
  t: PitrTarget;
  dir: string;
  /** The copy's port; igbackup's choice (`chosen`) moves on when another process took it before the start. */
  port: number;
  chosen: boolean;
  pgBin: string;
  source: info.SourceFiles | undefined;
  to: string | undefined;
  walMax: string | undefined;
}

function steps(ctx: AppContext, r: Run): Step[] {
  const { t, dir } = r;
  const as = t.p.runAs;
  const pgCtl = (...args: string[]) => pitr.pgCtl(t.p, r.pgBin, dir, ...args);
  const stopNow = () => capture(t.transport, pitr.stopNowCommand(t.p, r.pgBin, dir));
  return [
    {
      name: `creating ${dir} (mode 700) on ${t.transport.host}`,
      run: () => captureOk(t.transport, { argv: [...as, 'mkdir', '-m', '700', dir] }).then(() => undefined),
      undo: {
        name: `remove ${dir}`,
        run: async () => void (await captureOk(t.transport, { argv: [...as, 'rm', '-rf', '--', dir] })),
      },
    },
    {
      name: `pgbackrest restore into ${dir} (${r.to ? `to ${r.to}` : 'to the end of the archive'})`,
      run: async () => {
        await pgbackrestOk(t, info.restoreArgs({ dir, to: r.to, processMax: t.p.processMax }), restoreHint(t));
      },
    },
    {
      name: `giving the copy its own port ${r.port} and socket, archiving off`,
      run: () => configureCopy(r),
    },
    {
      name: `starting the copy (pg_ctl start, port ${r.port}) and waiting until recovery has ended`,
      run: () =>
        startAndWait(ctx, r, pgCtl).catch(async (err: unknown) => {
          // A start cut short may have launched the server: it is stopped before its directory is removed.
          const stop = await stopNow();
          throw withNote(err, stop.exitCode === 0 ? 'the copy this start had launched was stopped' : 'no copy runs');
        }),
      undo: {
        name: `stop the copy on port ${r.port}`,
        run: async () => void (await stopNow()),
      },
    },
  ];
}

/**
 * A postgresql.conf when the restore brought none (the limits from pg_controldata of the copy), pg_hba.conf and
 * pg_ident.conf copied from the source's (or minimal ones), and the copy's own port, socket and no archiving.
 */
async function configureCopy(r: Run): Promise<void> {
  const { t, dir } = r;
  const as = t.p.runAs;
  const control = await captureOk(t.transport, { argv: [...as, posix.join(r.pgBin, 'pg_controldata'), dir] });
  const limits = info.parseControlData(control);
  if (!limits) throw new IgbackupError(`pg_controldata ${dir} did not show the server's limits`);
  const script =
    'set -e; d="$1"; if [ -f "$d/postgresql.conf" ]; then cat >/dev/null; else cat > "$d/postgresql.conf"; fi; ' +
    'if [ ! -f "$d/pg_hba.conf" ]; then if [ -n "$2" ] && [ -r "$2" ]; then cp "$2" "$d/pg_hba.conf"; else printf "%s" "$5" > "$d/pg_hba.conf"; fi; fi; ' +
    'if [ ! -f "$d/pg_ident.conf" ]; then if [ -n "$3" ] && [ -r "$3" ]; then cp "$3" "$d/pg_ident.conf"; else : > "$d/pg_ident.conf"; fi; fi; ' +
    'printf "%s" "$4" >> "$d/postgresql.auto.conf"';
  const s = r.source;
  const args = [dir, s?.hbaFile ?? '', s?.identFile ?? '', info.copyOverrides(dir, r.port), info.MINIMAL_HBA];
  await captureOk(
    t.transport,
    { argv: [...as, 'sh', '-c', script, 'sh', ...args] },
    info.minimalConf(limits, s?.sharedPreloadLibraries),
  );
}

async function startAndWait(ctx: AppContext, r: Run, pgCtl: (...a: string[]) => CommandSpec): Promise<void> {
  const { t } = r;
  const log = posix.join(r.dir, 'igbackup-restore.log');
  // Nothing answered on the spare port when it was chosen, but any process may bind it before the copy does (an
  // outgoing connection's local port, another server starting): then the next spare port, a few times.
  for (let attempt = 1; ; attempt++) {
    const start = await capture(t.transport, pitr.detached(pgCtl('-l', log, '-w', '-t', '300', 'start').argv));
    if (succeeded(start)) break;
    const taken = r.chosen && attempt < PORT_ATTEMPTS && (await portWasTaken(t, log));
    if (!taken) throw await withLog(r.t, new ProcessFailedError('pg_ctl start (the restored copy)', start), log);
    const next = await sparePort(t, r.port + 1);
    ctx.reporter.step(`port ${r.port} was taken before the copy started: starting it on port ${next}`);
    r.port = next;
    await captureOk(t.transport, {
      argv: [
        ...t.p.runAs,
        'sh',
        '-c',
        'printf "%s" "$2" >> "$1/postgresql.auto.conf"',
        'sh',
        r.dir,
        `\nport = ${next}\n`,
      ],
    });
  }
  const conn = { ...t.conn, host: '127.0.0.1', port: r.port };
  await waitRecoveryEnd(ctx, t, { conn, status: pgCtl('status').argv, log, what: 'the restored copy' });
  if (r.to === undefined) await checkReachedEnd(t, conn, r.walMax);
}

const PORT_ATTEMPTS = 5;

/** The last lines of the copy's server log on the host (empty when it cannot be read). */
async function logTail(t: PitrTarget, log: string): Promise<string> {
  return (await capture(t.transport, { argv: [...t.p.runAs, 'tail', '-n', '15', log] })).stdout;
}

/** The copy's log says its port was in use (PostgreSQL: "could not bind ... Address already in use"). */
async function portWasTaken(t: PitrTarget, log: string): Promise<boolean> {
  return /Address already in use/.test(await logTail(t, log));
}

/** With --latest: the copy reached the newest WAL the repository held (else a missing segment cut it short). */
export async function checkReachedEnd(t: PitrTarget, conn: PgConnection, walMax: string | undefined): Promise<void> {
  const r = await capture(
    t.transport,
    pg.psqlCommand(conn, t.cfg.maintenanceDatabase),
    'SELECT pg_walfile_name(pg_current_wal_lsn());\n',
  );
  const problem = succeeded(r) ? info.endProblem(r.stdout.trim(), walMax) : undefined;
  if (problem) {
    throw new IntegrityError(problem, {
      hint: `igbackup verify postgres --physical --env ${t.h.name} checks the repository; restore --to a time before the gap, or take a new full base backup`,
    });
  }
}

/**
 * Waits (bounded by recoveryTimeoutSec) until the server answers and is out of recovery; a server that stopped meanwhile
 * (`status` no longer succeeds: e.g. a target after the end of the archive) fails at once with its log's tail.
 */
export async function waitRecoveryEnd(
  ctx: AppContext,
  t: PitrTarget,
  o: { conn: PgConnection; status: string[]; log: string; what: string },
): Promise<void> {
  const psql = pg.psqlCommand(o.conn, t.cfg.maintenanceDatabase);
  await waitUntil(
    'the end of recovery (pg_is_in_recovery() = false)',
    t.p.recoveryTimeoutSec * 1000,
    async () => {
      const q = await capture(t.transport, psql, 'SELECT pg_is_in_recovery();\n');
      if (succeeded(q)) return q.stdout.trim() === 'f';
      if (!succeeded(await capture(t.transport, { argv: o.status }))) {
        throw await withLog(t, new IgbackupError(`${o.what} stopped during recovery`), o.log);
      }
      return false;
    },
    100, // a promotion is noticed within 0.1 s: the wait is part of the RTO
    ctx.signal,
  );
}

/** The error with the copy's server log tail (why recovery stopped: e.g. a target after the end of the archive). */
export async function withLog(t: PitrTarget, err: IgbackupError, log: string): Promise<IgbackupError> {
  return new IgbackupError(`${err.message}\n--- ${log} ---\n${(await logTail(t, log)).trim()}`, {
    cause: err,
    hint: 'a target after the last archived WAL cannot be reached: pick an earlier --to, or --latest',
  });
}

export function restoreHint(t: PitrTarget): string {
  return `see pgBackRest's log under ${t.p.workDir}/log on ${t.transport.host}; the repository is ${t.repoUrl} (${shJoin(['pgbackrest', 'info'])} lists what it holds)`;
}
