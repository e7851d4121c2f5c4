// `igbackup pitr enable`: continuous WAL archiving to the env's bucket through pgBackRest (point-in-time recovery).

import type { Command } from 'commander';
import { pitrEnable } from '../app/postgres/pitr/enable.js';
import { pitrHeartbeat } from '../app/postgres/pitr/heartbeat.js';
import { formatDuration } from './format.js';
import { buildContext, globalsOf, type CliDeps } from './globals.js';

export function registerPitr(program: Command, deps: CliDeps): void {
  const pitr = program.command('pitr').description('point-in-time recovery for PostgreSQL through pgBackRest');
  pitr
    .command('enable')
    .description(
      'write pgbackrest.conf (mode 600) from the config, create the stanza, set archive_command and archive_timeout, and prove archiving with pgbackrest check; idempotent; never overrides another archiver',
    )
    .requiredOption('-e, --env <name>', 'environment from the config')
    .option('--dry-run', 'read the server and print what would change; change nothing')
    .option('--restart', 'restart PostgreSQL (postgres.pitr.restart) when archive_mode or wal_level must change')
    .action(async (flags: { env: string; dryRun?: boolean; restart?: boolean }, cmd: Command) => {
      const g = globalsOf(cmd);
      const out = deps.output(g);
      const ctx = await buildContext(deps, g, out);
      const r = await pitrEnable(ctx, {
        env: flags.env,
        dryRun: Boolean(flags.dryRun),
        restart: Boolean(flags.restart),
      });
      out.json({ ok: true, command: 'pitr enable', ...r });
      const changed = r.changed.length ? r.changed.join(', ') : 'nothing (already enabled as configured)';
      out.text(
        `${r.dryRun ? 'plan' : out.c.green('✔ archiving')} ${r.env}/${r.cluster} → ${r.repository} (pgBackRest ${r.pgbackrest})\n` +
          `  archive_command: ${r.archiveCommand}\n  archive_timeout: ${r.archiveTimeoutSec} s\n` +
          `  ${r.dryRun ? 'would change' : 'changed'}: ${changed}${r.restarted ? ' (restarted)' : ''}` +
          (r.checkMs !== undefined ? `\n  pgbackrest check: ok in ${formatDuration(r.checkMs)}` : ''),
      );
    });
  pitr
    .command('heartbeat')
    .description(
      "write the env's heartbeat into the source server (scheduled every minute with PITR); a physical drill measures the RPO it achieved by the newest beat in the restored copy",
    )
    .requiredOption('-e, --env <name>', 'environment from the config')
    .action(async (flags: { env: string }, cmd: Command) => {
      const g = globalsOf(cmd);
      const out = deps.output(g);
      const ctx = await buildContext(deps, g, out);
      const r = await pitrHeartbeat(ctx, { env: flags.env });
      out.json({ ok: true, command: 'pitr heartbeat', ...r });
      out.text(`heartbeat of ${r.env} at ${r.at}`);
    });
}
