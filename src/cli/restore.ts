// `igbackup restore <engine>`: verifies a backup's artifact, then restores it (protected envs need --yes).

import { Argument, type Command } from 'commander';
import { restore, type GlobalsOutcome, type RestoreResult } from '../app/restore.js';
import { askEnv } from './ask.js';
import { physicalRestoreAction, physicalRestoreOptions } from './physical.js';
import { ConfigError } from '../domain/errors.js';
import { ENGINES } from '../config/schema.js';
import { formatBytes, formatDuration } from './format.js';
import { selectEnv } from '../app/context.js';
import type { EngineName } from '../engines/engine.js';
import { buildContext, globalsOf, refuseFlagsNotFor, type CliDeps } from './globals.js';
import { archiveFlags, archiveOptions, boundedInt, LIMITS, rangeText } from './parse.js';

interface RestoreFlags {
  env: string;
  from?: string;
  latest?: boolean;
  targetDb?: string;
  database?: string;
  withGlobals?: boolean;
  overwriteRoles?: boolean;
  keepOld?: boolean;
  jobs?: number;
  owner?: boolean;
  tmpDir?: string;
  yes?: boolean;
  forceUnlock?: boolean;
  wait?: boolean;
  restoreTier?: string;
  waitTimeout?: number;
  physical?: boolean;
  to?: string;
  targetDir?: string;
  port?: number;
}

export function registerRestore(program: Command, deps: CliDeps): void {
  physicalRestoreOptions(
    archiveFlags(
      program
        .command('restore')
        .description(
          'restore a backup: checks size and sha256 first; postgres restores into a scratch database and swaps it in, redis replaces the RDB (AOF-aware)',
        )
        .addArgument(new Argument('<engine>', 'what to restore').choices(ENGINES))
        .requiredOption('-e, --env <name>', 'environment from the config')
        .option('--from <key>', 'key of the backup (artifact or manifest key, as shown by igbackup list)')
        .option('--latest', 'the newest complete backup')
        .option('-d, --database <name>', 'with --latest: newest backup of this source database')
        .option('--target-db <name>', 'restore into this database instead of the one the backup came from')
        .option('--with-globals', "apply the backup's roles/tablespaces first (backups taken with --globals)")
        .option(
          '--overwrite-roles',
          "with --with-globals: re-apply the backup's definitions (password, attributes, settings, memberships) to roles that already exist; without it they are kept as they are",
        )
        .option('--keep-old', 'keep the replaced database under a side name instead of dropping it')
        .option(
          '-j, --jobs <n>',
          `parallel pg_restore jobs ${rangeText(LIMITS.restoreJobs)}, local transport only (default from config: auto; 1 keeps the artifact compressed in the temp dir and streams it into pg_restore)`,
          boundedInt(LIMITS.restoreJobs),
        )
        .option('--no-owner', 'do not restore ownership and privileges'),
    )
      .option('--tmp-dir <dir>', 'where to download the artifact (default: the OS temp dir)')
      .option('-y, --yes', 'confirm restoring into a protected env')
      .option('--force-unlock', 'remove the lock of another run on this target first (only when that run is dead)'),
  ).action(async (engine: string, flags: RestoreFlags, cmd: Command) => {
    if (flags.physical) return physicalRestoreAction(deps, engine, flags, cmd);
    await restoreAction(deps, engine as EngineName, flags, cmd);
  });
}

/** `restore <engine>` (logical): one use case for every engine, then what it left in the engine's terms. */
async function restoreAction(deps: CliDeps, engine: EngineName, flags: RestoreFlags, cmd: Command): Promise<void> {
  const g = globalsOf(cmd);
  const out = deps.output(g);
  const ctx = await buildContext(deps, g, out);
  const interactive = deps.stdinIsTTY && !g.json && out.opts.interactive;
  const ask = interactive ? (q: string) => askEnv(q, flags.env, out.opts.stderr) : undefined;
  refuseFlagsNotFor(cmd, engine, 'restore');
  if (flags.overwriteRoles && !flags.withGlobals)
    throw new ConfigError('--overwrite-roles applies only with --with-globals', [], {
      hint: 'add --with-globals, or drop --overwrite-roles',
    });
  const r = await restore(ctx, selectEnv(ctx, flags.env), engine, {
    from: flags.from,
    latest: flags.latest,
    database: flags.database,
    targetDb: flags.targetDb,
    withGlobals: flags.withGlobals,
    overwriteRoles: flags.overwriteRoles,
    keepOld: flags.keepOld,
    jobs: flags.jobs,
    noOwner: flags.owner === false,
    tmpDir: flags.tmpDir,
    yes: Boolean(flags.yes),
    forceUnlock: Boolean(flags.forceUnlock),
    ask,
    archive: archiveOptions(flags),
    to: flags.to,
  });
  out.json({ ok: true, command: 'restore', result: r });
  out.text(`${out.c.green('✔')} restored ${r.key}\n  ${restoredText(r)}`);
}

/** What the restore left, in the engine's terms. */
function restoredText(r: RestoreResult): string {
  switch (r.engine) {
    case 'neo4j':
      return (
        `into Neo4j database "${r.database}" (sha256 verified${r.checked ? ', neo4j-admin check passed' : ''}); ${formatDuration(r.durationMs)}` +
        (r.chain ? `\n  a chain of ${r.chain.length} backups, the full one ${r.chain[0]}` : '') +
        (r.until ? `\n  recovered up to ${r.until}` : '') +
        `\n  Neo4j ${r.neo4j === 'running' ? 'is running' : 'is left stopped, as it was found'}`
      );
    case 'redis':
      return `Redis has ${r.dbsize} keys${r.keysInBackup !== undefined ? ` (backup: ${r.keysInBackup})` : ''}${r.aof ? ', AOF rewritten' : ''}; sha256 verified; ${formatDuration(r.durationMs)}`;
    case 'postgres':
      return (
        `into database "${r.targetDatabase}" (${formatBytes(r.bytes)}, sha256 verified) in ${formatDuration(r.durationMs)}` +
        (r.keptOldAs ? `\n  previous database kept as "${r.keptOldAs}"` : '') +
        (r.globals ? globalsText(r.globals) : '')
      );
  }
}

function globalsText(g: GlobalsOutcome): string {
  const list = (l: string[]): string => (l.length ? l.map((n) => JSON.stringify(n)).join(', ') : 'none');
  const lines = [`roles created: ${list(g.rolesCreated)}`, `roles kept as they were: ${list(g.rolesKept)}`];
  if (g.rolesOverwritten.length) lines.push(`roles overwritten from the backup: ${list(g.rolesOverwritten)}`);
  if (g.tablespacesCreated.length || g.tablespacesKept.length)
    lines.push(`tablespaces created: ${list(g.tablespacesCreated)}; kept: ${list(g.tablespacesKept)}`);
  return lines.map((l) => `\n  ${l}`).join('');
}
