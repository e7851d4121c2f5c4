// `igbackup drill <engine|all>`: restore into a throwaway target, run smoke tests, measure the RTO, tear down.

import { Argument, type Command } from 'commander';
import { drill } from '../app/drill/index.js';
import { ConfigError } from '../domain/errors.js';
import { physicalDrillAction } from './physical.js';
import { formatDuration } from './format.js';
import { buildContext, globalsOf, refuseFlagsNotFor, type CliDeps } from './globals.js';

export function registerDrill(program: Command, deps: CliDeps): void {
  program
    .command('drill')
    .description(
      'restore a backup into a throwaway target (never the source), run the smoke tests, measure the RTO against the tier target, tear down, store a drill report; exit 6 on a failed check or a missed RTO',
    )
    .addArgument(new Argument('<engine>', 'which engine, or all').choices(['postgres', 'redis', 'neo4j', 'all']))
    .requiredOption('-e, --env <name>', 'environment from the config')
    .option('--from <key>', 'drill this backup (default: the newest of each configured database)')
    .option('--latest', 'the newest complete backup (the default)')
    .option('-d, --database <name>', 'only this database')
    .option('--keep', 'keep the scratch database (or the scratch Redis files) for inspection')
    .option(
      '--force-unlock',
      'remove the lock of another drill of this engine and env first (only when that run is dead)',
    )
    .option(
      '--physical',
      'postgres: restore the pgBackRest repository into a throwaway directory; measures the achieved RPO',
    )
    .option('--to <time>', 'with --physical: the moment to recover to (default: the end of the archive)')
    .action((engine: string, flags: DrillFlags, cmd: Command) => {
      if (flags.physical) return physicalDrillAction(deps, engine, flags, cmd);
      if (engine !== 'all') refuseFlagsNotFor(cmd, engine, 'drill');
      else if (flags.to !== undefined)
        throw new ConfigError('--to applies to drill postgres --physical only', [], { hint: 'add --physical' });
      return drillAction(deps, engine, flags, cmd);
    });
}

interface DrillFlags {
  env: string;
  from?: string;
  latest?: boolean;
  database?: string;
  keep?: boolean;
  forceUnlock?: boolean;
  physical?: boolean;
  to?: string;
}

/** Drills from stored backups (logical): each report with its RTO, checks and error. */
async function drillAction(deps: CliDeps, engine: string, flags: DrillFlags, cmd: Command): Promise<void> {
  const g = globalsOf(cmd);
  const out = deps.output(g);
  const ctx = await buildContext(deps, g, out);
  const reports = await drill(ctx, {
    env: flags.env,
    engine,
    from: flags.from,
    latest: flags.latest,
    database: flags.database,
    keep: Boolean(flags.keep),
    forceUnlock: Boolean(flags.forceUnlock),
  });
  out.json({ ok: true, command: 'drill', reports });
  out.text(
    reports
      .map((r) => {
        const rto = `RTO ${formatDuration(r.rtoSeconds * 1000)}${r.rtoTargetSeconds !== undefined ? ` (target ${formatDuration(r.rtoTargetSeconds * 1000)}${r.rtoMet ? '' : ', MISSED'})` : ''}`;
        return [
          `${r.ok ? out.c.green('✔') : out.c.red('✘')} drill ${r.engine}/${r.database} from ${r.key} into ${r.target}: ${rto}`,
          ...r.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`),
          ...(r.error ? [`  error: ${r.error}`] : []),
        ].join('\n');
      })
      .join('\n'),
  );
}
