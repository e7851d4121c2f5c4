// The physical method of `backup postgres` and `restore postgres` (--physical): pgBackRest base backups and restores
// into a new data directory, for point-in-time recovery.

import type { Command } from 'commander';
import { physicalBackup } from '../app/pitr/backup.js';
import { physicalRestore } from '../app/pitr/restore.js';
import { physicalVerify } from '../app/pitr/verify.js';
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
      'with --physical: the moment to recover to, ISO 8601 with its zone (e.g. 2026-11-27T10:15:00Z)',
    )
    .option('--target-dir <dir>', 'with --physical: the new data directory (default: beside the cluster, stamped)')
    .option(
      '--port <n>',
      'with --physical: the port of the restored copy (default: the first free after the cluster)',
      parsePort,
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
  opts: { env: string; type?: 'full' | 'diff' | 'incr'; forceUnlock?: boolean },
  cmd: Command,
): Promise<void> {
  requirePostgres(engine);
  refuseFlagsNotFor(cmd, engine, 'backupPhysical');
  const g = globalsOf(cmd);
  const out = deps.output(g);
  const ctx = await buildContext(deps, g, out);
  const r = await physicalBackup(ctx, { env: opts.env, type: opts.type ?? 'incr', forceUnlock: opts.forceUnlock });
  out.json({ ok: true, command: 'backup', method: 'physical', result: r });
  out.text(
    `${out.c.green('✔')} postgres ${r.cluster} base backup ${r.backup.label} (${r.backup.type}) → ${r.repository}\n` +
      `  ${formatBytes(r.backup.bytes)} of data, ${formatBytes(r.backup.repoBytes)} stored, in ${formatDuration(r.durationMs)}; WAL ${r.backup.walStart} … ${r.backup.walStop}`,
  );
}

export async function physicalRestoreAction(
  deps: CliDeps,
  engine: string,
  flags: { env: string; to?: string; latest?: boolean; targetDir?: string; port?: number },
  cmd: Command,
): Promise<void> {
  requirePostgres(engine);
  refuseFlagsNotFor(cmd, engine, 'restorePhysical');
  if ((flags.to === undefined) === !flags.latest) {
    throw new ConfigError('restore --physical needs exactly one of --to TIME or --latest', [], {
      hint: '--to 2026-11-27T10:15:00Z restores to that moment; --latest to the end of the archive',
    });
  }
  const g = globalsOf(cmd);
  const out = deps.output(g);
  const ctx = await buildContext(deps, g, out);
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
  const given = cmd.options.filter((o) => cmd.getOptionValueSource(o.attributeName()) === 'cli').map((o) => o.long);
  const other = given.filter((f) => f !== '--physical' && f !== '--env');
  if (other.length) {
    throw new ConfigError(`verify --physical checks the whole repository: ${other.join(', ')} do(es) not apply`, [], {
      hint: `drop ${other.join(', ')}`,
    });
  }
  const g = globalsOf(cmd);
  const out = deps.output(g);
  const ctx = await buildContext(deps, g, out);
  const r = await physicalVerify(ctx, { env: flags.env });
  out.json({ ok: true, command: 'verify', method: 'physical', result: r });
  out.text(
    `${out.c.green('✔')} ${r.repository}: ${r.backups} base backup(s) and WAL ${r.walMin ?? '-'} … ${r.walMax ?? '-'} verified by pgBackRest in ${formatDuration(r.durationMs)}`,
  );
}
