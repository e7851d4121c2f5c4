// `igbackup backup <engine>`: runs a verified backup and prints where it went.

import { Argument, Option, type Command } from 'commander';
import { runBackup } from '../app/backup.js';
import { physicalBackupAction } from './physical.js';
import { IgbackupError, SomeFailedError, messageOf } from '../domain/errors.js';
import { ENGINES } from '../config/schema.js';
import { formatBytes, formatDuration } from './format.js';
import { buildContext, globalsOf, refuseFlagsNotFor, type CliDeps } from './globals.js';
import { ConfigError } from '../domain/errors.js';
import { parseCompression } from './parse.js';

function errorJson(err: unknown): { type: string; message: string; hint?: string | undefined } {
  return {
    type: err instanceof Error ? err.name : 'Error',
    message: messageOf(err),
    hint: err instanceof IgbackupError ? err.hint : undefined,
  };
}

export function registerBackup(program: Command, deps: CliDeps): void {
  program
    .command('backup')
    .description("dump an engine's databases and stream them to the env's store; complete only when verified")
    .addArgument(new Argument('<engine>', 'what to back up').choices(ENGINES))
    .requiredOption('-e, --env <name>', 'environment from the config (e.g. prod)')
    .option('-d, --database <name>', 'only this database (default: every database configured for the env)')
    .option('--compression <kind>', 'zstd | gzip | none (default from config: zstd)', parseCompression)
    .option('--globals', 'also dump roles and tablespaces (pg_dumpall --globals-only)')
    .option('--no-globals', 'do not dump globals even if the config says so')
    .option(
      '--force-unlock',
      'remove the lock of another run of this engine and env first (only when that run is dead)',
    )
    .addOption(
      new Option('--mode <mode>', 'redis: rdb-stream (redis-cli --rdb -) or bgsave (default from config)').choices([
        'rdb-stream',
        'bgsave',
      ]),
    )
    .addOption(
      new Option(
        '--method <method>',
        'neo4j community: dump (each database, portable across versions) or tar (the whole data directory; default: neo4j.method)',
      ).choices(['dump', 'tar']),
    )
    .option('--physical', 'postgres: a pgBackRest base backup for point-in-time recovery (see igbackup pitr enable)')
    .addOption(
      new Option(
        '--type <type>',
        'with --physical: full, diff or incr (default incr; the first is full); neo4j enterprise: full, diff (on the chain in the store) or auto (default: enterprise.type)',
      ).choices(['full', 'diff', 'incr', 'auto']),
    )
    .action((engine: string, opts: BackupFlags, cmd: Command) =>
      opts.physical ? physicalBackupAction(deps, engine, opts, cmd) : backupAction(deps, engine, opts, cmd),
    );
}

interface BackupFlags {
  env: string;
  database?: string;
  compression?: 'zstd' | 'gzip' | 'none';
  globals?: boolean;
  mode?: 'rdb-stream' | 'bgsave';
  method?: 'dump' | 'tar';
  forceUnlock?: boolean;
  physical?: boolean;
  type?: 'full' | 'diff' | 'incr' | 'auto';
}

/** Runs the backups, prints each stored one and each failure; several databases with failures throw SomeFailedError. */
async function backupAction(deps: CliDeps, engine: string, opts: BackupFlags, cmd: Command): Promise<void> {
  const g = globalsOf(cmd);
  const out = deps.output(g);
  const ctx = await buildContext(deps, g, out);
  refuseFlagsNotFor(cmd, engine, 'backup');
  if (opts.type === 'incr')
    throw new ConfigError('--type incr applies only to postgres --physical', [], {
      hint: 'neo4j enterprise takes --type full, diff or auto',
    });
  const { results, failures } = await runBackup(ctx, { engine, ...opts, type: opts.type });
  const only = failures.length === 1 && results.length === 0 ? failures[0] : undefined;
  if (only) throw only.error; // one database tried: its own error, as it is
  const failed = failures.map((f) => ({ database: f.database, error: errorJson(f.error) }));
  out.json({
    ok: failures.length === 0,
    command: 'backup',
    ...(failures.length ? { error: failed[0]?.error } : {}),
    results,
    failures: failed,
  });
  for (const r of results) {
    out.text(
      `${out.c.green('✔')} ${r.engine} ${r.database} → ${r.key}\n` +
        `  ${formatBytes(r.bytes)} stored (${formatBytes(r.rawBytes)} dumped) in ${formatDuration(r.durationMs)}, sha256 ${r.sha256}`,
    );
  }
  for (const f of failed)
    out.text(`${out.c.red('✘')} ${engine} ${f.database}: FAILED, nothing stored for it: ${f.error.message}`);
  if (failures.length) {
    const first = failures[0] as { database: string; error: unknown };
    throw new SomeFailedError(
      `${failures.length} of ${failures.length + results.length} ${engine} backup(s) failed (${failures.map((f) => f.database).join(', ')}); ${results.length} stored complete.\nFirst failure (${first.database}): ${messageOf(first.error)}`,
      failures,
      { hint: first.error instanceof IgbackupError ? first.error.hint : undefined },
    );
  }
}
