// `igbackup verify <engine>`: size and sha256 of every artifact, then the engine's native check; touches no database.

import { Argument, Option, type Command } from 'commander';
import { verifyBackup } from '../app/verify.js';
import { ENGINES } from '../config/schema.js';
import { formatBytes } from './format.js';
import { buildContext, globalsOf, type CliDeps } from './globals.js';
import { archiveOptions, parsePositiveInt, RESTORE_TIERS } from './parse.js';

export function registerVerify(program: Command, deps: CliDeps): void {
  program
    .command('verify')
    .description('download a backup, check size and sha256 against its manifest and run the engine\'s native check (no database is touched)')
    .addArgument(new Argument('<engine>', 'which engine\'s backup').choices(ENGINES))
    .requiredOption('-e, --env <name>', 'environment from the config')
    .option('--from <key>', 'key of the backup (as shown by igbackup list)')
    .option('--latest', 'the newest complete backup')
    .option('-d, --database <name>', 'with --latest: newest backup of this database')
    .option('--wait', 'if the backup is archived (GLACIER/DEEP_ARCHIVE), wait for the S3 restore instead of exiting 75')
    .addOption(new Option('--restore-tier <tier>', 'S3 retrieval tier for archived backups').choices(RESTORE_TIERS).default('Standard'))
    .option('--wait-timeout <minutes>', 'give up waiting after this long (default 720)', parsePositiveInt)
    .option('--tmp-dir <dir>', 'where to download (default: the OS temp dir)')
    .action(async (engine: string, flags: { env: string; from?: string; latest?: boolean; database?: string; tmpDir?: string; wait?: boolean; restoreTier?: string; waitTimeout?: number }, cmd: Command) => {
      const g = globalsOf(cmd);
      const out = deps.output(g);
      const ctx = await buildContext(deps, g, out);
      const r = await verifyBackup(ctx, { engine, env: flags.env, from: flags.from, latest: flags.latest, database: flags.database, tmpDir: flags.tmpDir, archive: archiveOptions(flags) });
      out.json({ ok: true, command: 'verify', result: r });
      out.text(
        `${out.c.green('✔')} ${r.key} is restorable\n` +
          r.artifacts.map((a) => `  ${a.role}: ${formatBytes(a.bytes)}, sha256 ${a.sha256.slice(0, 16)}… matches the manifest`).join('\n') +
          `\n  ${r.nativeCheck.tool}: ${r.nativeCheck.detail}`,
      );
    });
}
