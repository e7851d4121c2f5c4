// `igbackup drill <engine|all>`: restore into a throwaway target, run smoke tests, measure the RTO, tear down.

import { Argument, type Command } from 'commander';
import { drill } from '../app/drill/index.js';
import { formatDuration } from './format.js';
import { buildContext, globalsOf, type CliDeps } from './globals.js';

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
    .action(
      async (
        engine: string,
        flags: {
          env: string;
          from?: string;
          latest?: boolean;
          database?: string;
          keep?: boolean;
          forceUnlock?: boolean;
        },
        cmd: Command,
      ) => {
        const g = globalsOf(cmd);
        const out = deps.output(g);
        const ctx = await buildContext(deps, g, out);
        const print = (reports: Awaited<ReturnType<typeof drill>>): void => {
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
        };
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
        print(reports);
      },
    );
}
