// `igbackup verify <engine>`: size and sha256 of every artifact (stored and decompressed), then the engine's own
// reader over every byte; touches no database.

import { Argument, type Command } from 'commander';
import { verifyBackup } from '../app/verify.js';
import { physicalVerifyAction } from './physical.js';
import { ENGINES } from '../config/schema.js';
import { buildContext, globalsOf, refuseFlagsNotFor, type CliDeps } from './globals.js';
import { archiveFlags, archiveOptions } from './parse.js';

export function registerVerify(program: Command, deps: CliDeps): void {
  archiveFlags(
    program
      .command('verify')
      .description(
        "download a backup, check size and sha256 (as stored and decompressed) against its manifest, then read every byte with the engine's own tool: pg_restore decoding every data block, redis-check-rdb, neo4j-admin load + check (no database is touched); exit 3 when anything is off",
      )
      .addArgument(new Argument('<engine>', "which engine's backup").choices(ENGINES))
      .requiredOption('-e, --env <name>', 'environment from the config')
      .option('--from <key>', 'key of the backup (as shown by igbackup list)')
      .option('--latest', 'the newest complete backup')
      .option('-d, --database <name>', 'with --latest: newest backup of this database'),
  )
    .option('--tmp-dir <dir>', 'where to download (default: the OS temp dir)')
    .option('--physical', "postgres: pgbackrest verify of the env's repository (every base backup and WAL segment)")
    .action((engine: string, flags: VerifyFlags, cmd: Command) => {
      if (flags.physical) return physicalVerifyAction(deps, engine, flags, cmd);
      refuseFlagsNotFor(cmd, engine, 'verify');
      return verifyAction(deps, engine, flags, cmd);
    });
}

interface VerifyFlags {
  env: string;
  from?: string;
  latest?: boolean;
  database?: string;
  tmpDir?: string;
  wait?: boolean;
  restoreTier?: string;
  waitTimeout?: number;
  physical?: boolean;
}

/** Verifies one backup (logical: the artifacts against the manifest, then the engine's own reader). */
async function verifyAction(deps: CliDeps, engine: string, flags: VerifyFlags, cmd: Command): Promise<void> {
  const g = globalsOf(cmd);
  const out = deps.output(g);
  const ctx = await buildContext(deps, g, out);
  const r = await verifyBackup(ctx, {
    engine,
    env: flags.env,
    from: flags.from,
    latest: flags.latest,
    database: flags.database,
    tmpDir: flags.tmpDir,
    archive: archiveOptions(flags),
  });
  out.json({ ok: true, command: 'verify', result: r });
  out.text(
    [`${out.c.green('✔')} ${r.key} is restorable; checked:`, ...r.checks.map((c) => `  ${c.name}: ${c.detail}`)].join(
      '\n',
    ),
  );
}
