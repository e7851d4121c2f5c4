// `igbackup prune [engine]`: dry run by default; --yes deletes. Keeps the newest backup of every database.

import { Argument, type Command } from 'commander';
import { prune } from '../app/prune.js';
import { ENGINES } from '../config/schema.js';
import { formatAge, formatAmount } from './format.js';
import { buildContext, globalsOf, type CliDeps } from './globals.js';
import { boundedInt, LIMITS, rangeText } from './parse.js';

export function registerPrune(program: Command, deps: CliDeps): void {
  program
    .command('prune')
    .description(
      'remove backups beyond the retention (newest N, or younger than D days, are kept; the newest of each database always); dry run unless --yes',
    )
    .addArgument(new Argument('[engine]', 'only this engine').choices(ENGINES))
    .requiredOption('-e, --env <name>', 'environment from the config')
    .option(
      '--keep-last <n>',
      `keep the newest N complete backups of each database ${rangeText(LIMITS.keepLast)} (default: envs.<env>.retention.keepLast)`,
      boundedInt(LIMITS.keepLast),
    )
    .option(
      '--keep-days <d>',
      `keep complete backups younger than D days ${rangeText(LIMITS.keepDays)} (default: envs.<env>.retention.keepDays)`,
      boundedInt(LIMITS.keepDays),
    )
    .option('--purge-versions', 'on versioned buckets delete every version instead of adding delete markers')
    .option('-y, --yes', 'delete for real (without it, only the plan is printed)')
    .action(
      async (
        engine: string | undefined,
        flags: { env: string; keepLast?: number; keepDays?: number; purgeVersions?: boolean; yes?: boolean },
        cmd: Command,
      ) => {
        const g = globalsOf(cmd);
        const out = deps.output(g);
        const ctx = await buildContext(deps, g, out);
        const r = await prune(ctx, {
          env: flags.env,
          engine,
          keepLast: flags.keepLast,
          keepDays: flags.keepDays,
          apply: Boolean(flags.yes),
          purgeVersions: Boolean(flags.purgeVersions),
          yes: Boolean(flags.yes),
        });
        out.json({ ok: true, command: 'prune', ...r });
        const now = ctx.now();
        const verb = r.dryRun ? 'would remove' : 'removed';
        const lines = [
          `${r.dryRun ? 'DRY RUN (pass --yes to delete): ' : ''}keep the last ${r.policy.keepLast} and anything younger than ${r.policy.keepDays} days; suspect manifests and orphans after ${formatAmount(r.policy.orphanGraceHours)} h; only proven-complete backups count`,
          ...r.kept.map((k) => `  keep    ${k.key}  (${formatAge(k.finishedAt, now)}, ${k.why})`),
          ...r.removed.map(
            (k) =>
              `  ${verb.padEnd(6)}  ${k.key}  (${formatAge(k.finishedAt, now)}, ${k.why}; ${k.objects.length} objects)`,
          ),
          ...r.suspectsRemoved.map((o) => `  ${verb.padEnd(6)}  ${o.key}  (${o.why}: ${o.reasons.join('; ')})`),
          ...r.suspectsKept.map((o) => `  keep    ${o.key}  (${o.why}: ${o.reasons.join('; ')})`),
          ...r.orphansRemoved.map((o) => `  ${verb.padEnd(6)}  ${o.key}  (${o.why})`),
          ...r.orphansKept.map((o) => `  keep    ${o.key}  (${o.why})`),
          ...r.locked.map((o) => `  locked  ${o.key}  (${o.kind}: ${o.why})`),
          `note: ${r.versioning}`,
        ];
        out.text(lines.join('\n'));
      },
    );
}
