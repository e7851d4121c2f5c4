// `igbackup list [engine]`: complete backups newest first (size, age, duration, checksum, who), or --json.

import { Argument, type Command } from 'commander';
import { listBackups } from '../app/list.js';
import type { PhysicalListing } from '../app/postgres/pitr/backup.js';
import { IgbackupError } from '../domain/errors.js';
import type { Output } from './output.js';
import { ENGINES } from '../config/schema.js';
import { formatAge, formatBytes, formatDuration, table } from './format.js';
import { buildContext, globalsOf, type CliDeps } from './globals.js';

export function registerList(program: Command, deps: CliDeps): void {
  program
    .command('list')
    .description('list proven-complete backups newest first, then suspect manifests and orphan objects')
    .addArgument(new Argument('[engine]', 'only this engine').choices(ENGINES))
    .requiredOption('-e, --env <name>', 'environment from the config')
    .action(async (engine: string | undefined, flags: { env: string }, cmd: Command) => {
      const g = globalsOf(cmd);
      const out = deps.output(g);
      const ctx = await buildContext(deps, g, out);
      const r = await listBackups(ctx, { env: flags.env, engine });
      out.json({ ok: true, command: 'list', ...r });
      const now = ctx.now();
      if (r.backups.length === 0) out.text(`no complete backups in env "${r.env}" (${r.store})`);
      else {
        const rows = [['AGE', 'ENGINE', 'DATABASE', 'SIZE', 'TOOK', 'SHA256', 'BY', 'KEY']];
        for (const b of r.backups) {
          rows.push([
            formatAge(b.finishedAt, now),
            b.engine,
            b.database,
            formatBytes(b.bytes),
            formatDuration(b.durationMs),
            b.sha256.slice(0, 12),
            b.createdBy,
            b.parent ? `${b.key} (diff on ${b.parent.slice(b.parent.lastIndexOf('/') + 1)})` : b.key,
          ]);
        }
        out.text(`${r.store}\n${table(rows)}`);
      }
      if (r.suspects.length) {
        const lines = r.suspects.map((s) => `  ${s.manifestKey}\n${s.reasons.map((x) => `      ${x}`).join('\n')}`);
        out.text(
          out.c.yellow(
            `${r.suspects.length} suspect manifest(s): not proof of a backup, never restored by --latest nor counted for the RPO\n${lines.join('\n')}`,
          ),
        );
      }
      if (r.physical) printPhysical(out, r.physical, now);
      if (r.orphans.length) {
        out.text(
          out.c.yellow(`${r.orphans.length} object(s) without a manifest (incomplete or foreign), not restorable`),
        );
      }
      if (r.physical?.error) {
        throw new IgbackupError(
          `the pgBackRest repository ${r.physical.repository} could not be read: ${r.physical.error}`,
        );
      }
    });
}

/** The base backups of the env's pgBackRest repository (point-in-time recovery), newest first. */
function printPhysical(out: Output, p: PhysicalListing, now: Date): void {
  const title = `PostgreSQL base backups (pgBackRest, ${p.repository}), WAL ${p.walMin ?? '-'} … ${p.walMax ?? '-'}`;
  if (p.error) return out.text(out.c.red(`${title}: NOT READABLE: ${p.error}`));
  const rows = [['AGE', 'CLUSTER', 'TYPE', 'SIZE', 'STORED', 'TOOK', 'LABEL']];
  for (const b of [...p.backups].reverse()) {
    rows.push([
      formatAge(b.finishedAt, now),
      p.cluster,
      b.error ? `${b.type} (ERROR)` : b.type,
      formatBytes(b.bytes),
      formatBytes(b.repoBytes),
      formatDuration(Date.parse(b.finishedAt) - Date.parse(b.startedAt)),
      b.label,
    ]);
  }
  out.text(`${title}\n${p.backups.length ? table(rows) : '  none yet: igbackup backup postgres --physical'}`);
}
