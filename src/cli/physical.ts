// The physical method of `backup postgres` and `restore postgres` (--physical): pgBackRest base backups and restores
// into a new data directory, for point-in-time recovery.

import type { Command } from 'commander';
import { physicalBackup } from '../app/postgres/pitr/backup.js';
import { physicalRestore } from '../app/postgres/pitr/restore.js';
import { physicalRestoreInPlace } from '../app/postgres/pitr/restore-in-place.js';
import type { AppContext } from '../app/context.js';
import { askEnv } from './ask.js';
import type { Output } from './output.js';
import { physicalVerify } from '../app/postgres/pitr/verify.js';
import { physicalDrill } from '../app/postgres/pitr/drill.js';
import { ConfigError } from '../domain/errors.js';
import { formatBytes, formatDuration } from './format.js';
import { buildContext, globalsOf, refuseFlagsNotFor, type CliDeps } from './globals.js';
import { parsePort } from './parse.js';

/** The flags of `restore --physical`. */
export function physicalRestoreOptions(c: Command): Command {
  return c
    .option('--physical', 'postgres: restore a pgBackRest backup into a NEW data directory (point-in-time recovery)')
    .option(
      '--to <time>',
      'with --physical, or neo4j enterprise: the moment to recover to, ISO 8601 with its zone (e.g. 2026-11-27T10:15:00Z); neo4j enterprise also takes a transaction id',
    )
    .option('--target-dir <dir>', 'with --physical: the new data directory (default: beside the cluster, stamped)')
    .option(
      '--port <n>',
      'with --physical: the port of the restored copy (default: the first free after the cluster)',
      parsePort,
    )
    .option(
      '--in-place',
      'with --physical: recover the cluster itself (stop, data directory moved aside, restore, start); protected envs need --yes',
    );
}

/** --physical given for an engine without that method: said before anything runs. */
function requirePostgres(engine: string): void {
  if (engine !== 'postgres') {
    throw new ConfigError(`--physical applies to postgres only (point-in-time recovery through pgBackRest)`, [], {
      hint: `drop --physical for ${engine}`,
    });
  }
}

export async function physicalBackupAction(
  deps: CliDeps,
  engine: string,
  opts: { env: string; type?: 'full' | 'diff' | 'incr' | 'auto'; forceUnlock?: boolean },
  cmd: Command,
): Promise<void> {
  requirePostgres(engine);
  refuseFlagsNotFor(cmd, engine, 'backupPhysical');
  const g = globalsOf(cmd);
  const out = deps.output(g);
  const ctx = await buildContext(deps, g, out);
  if (opts.type === 'auto')
    throw new ConfigError('--type auto applies only to neo4j enterprise', [], {
      hint: 'with --physical: full, diff or incr (pgBackRest takes a full backup when there is none)',
    });
  const r = await physicalBackup(ctx, { env: opts.env, type: opts.type ?? 'incr', forceUnlock: opts.forceUnlock });
  out.json({ ok: true, command: 'backup', method: 'physical', result: r });
  out.text(
    `${out.c.green('✔')} postgres ${r.cluster} base backup ${r.backup.label} (${r.backup.type}) → ${r.repository}\n` +
      `  ${formatBytes(r.backup.bytes)} of data, ${formatBytes(r.backup.repoBytes)} stored, in ${formatDuration(r.durationMs)}; WAL ${r.backup.walStart} … ${r.backup.walStop}`,
  );
}

interface PhysicalRestoreFlags {
  env: string;
  to?: string;
  latest?: boolean;
  targetDir?: string;
  port?: number;
  inPlace?: boolean;
  yes?: boolean;
}

export async function physicalRestoreAction(
  deps: CliDeps,
  engine: string,
  flags: PhysicalRestoreFlags,
  cmd: Command,
): Promise<void> {
  requirePostgres(engine);
  refuseFlagsNotFor(cmd, engine, 'restorePhysical');
  if ((flags.to === undefined) === !flags.latest) {
    throw new ConfigError('restore --physical needs exactly one of --to TIME or --latest', [], {
      hint: '--to 2026-11-27T10:15:00Z restores to that moment; --latest to the end of the archive',
    });
  }
  if (flags.inPlace && (flags.targetDir !== undefined || flags.port !== undefined)) {
    throw new ConfigError('--in-place restores into the cluster itself: --target-dir and --port do not apply', [], {
      hint: 'drop --in-place to restore into a new directory, or drop --target-dir/--port',
    });
  }
  const g = globalsOf(cmd);
  const out = deps.output(g);
  const ctx = await buildContext(deps, g, out);
  if (flags.inPlace) return inPlaceAction(deps, ctx, flags, out, Boolean(g.json));
  // A copy in a new directory beside the running cluster changes nothing of it: no confirmation is needed.
  const r = await physicalRestore(ctx, { env: flags.env, to: flags.to, targetDir: flags.targetDir, port: flags.port });
  out.json({ ok: true, command: 'restore', method: 'physical', result: r });
  out.text(
    `${out.c.green('✔')} restored ${r.cluster} to ${r.target} into ${r.dataDir}, running on port ${r.port} (promoted), in ${formatDuration(r.durationMs)}\n` +
      `  connect: ${r.connect}\n` +
      `  the running cluster was not touched; to make this copy the primary, stop the old server, point clients (or the data directory) at this one, and run igbackup pitr enable for it`,
  );
}

export async function physicalVerifyAction(deps: CliDeps, engine: string, flags: { env: string }, cmd: Command) {
  requirePostgres(engine);
  refuseFlagsNotFor(cmd, engine, 'verifyPhysical');
  const g = globalsOf(cmd);
  const out = deps.output(g);
  const ctx = await buildContext(deps, g, out);
  const r = await physicalVerify(ctx, { env: flags.env });
  out.json({ ok: true, command: 'verify', method: 'physical', result: r });
  out.text(
    `${out.c.green('✔')} ${r.repository}: ${r.backups} base backup(s) and WAL ${r.walMin ?? '-'} … ${r.walMax ?? '-'} verified by pgBackRest in ${formatDuration(r.durationMs)}`,
  );
}

/** --in-place: the cluster itself is recovered (protected envs need --yes); the old data directory is kept aside. */
async function inPlaceAction(
  deps: CliDeps,
  ctx: AppContext,
  flags: PhysicalRestoreFlags,
  out: Output,
  json: boolean,
): Promise<void> {
  const interactive = deps.stdinIsTTY && !json && out.opts.interactive;
  const ask = interactive ? (q: string) => askEnv(q, flags.env, out.opts.stderr) : undefined;
  const r = await physicalRestoreInPlace(ctx, {
    env: flags.env,
    to: flags.to,
    confirm: { yes: Boolean(flags.yes), ask },
  });
  out.json({ ok: true, command: 'restore', method: 'physical-in-place', result: r });
  out.text(
    `${out.c.green('✔')} ${r.cluster} recovered in place to ${r.target}, running, in ${formatDuration(r.durationMs)}\n` +
      `  the data directory as it was before is kept at ${r.keptAside}: remove it once the recovered cluster is checked`,
  );
}

export async function physicalDrillAction(
  deps: CliDeps,
  engine: string,
  flags: { env: string; to?: string; keep?: boolean; forceUnlock?: boolean; from?: string; database?: string },
  cmd: Command,
): Promise<void> {
  requirePostgres(engine);
  refuseFlagsNotFor(cmd, engine, 'drillPhysical');
  const g = globalsOf(cmd);
  const out = deps.output(g);
  const ctx = await buildContext(deps, g, out);
  const r = await physicalDrill(ctx, {
    env: flags.env,
    to: flags.to,
    keep: Boolean(flags.keep),
    forceUnlock: flags.forceUnlock,
  });
  out.json({ ok: true, command: 'drill', method: 'physical', reports: [r] });
  const rpo = r.achievedRpoSeconds === undefined ? 'unknown' : formatDuration(r.achievedRpoSeconds * 1000);
  out.text(
    [
      `${out.c.green('✔')} physical drill of ${r.database} into ${r.target}: RTO ${formatDuration(r.rtoSeconds * 1000)}, achieved RPO ${rpo}`,
      ...r.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`),
    ].join('\n'),
  );
}
