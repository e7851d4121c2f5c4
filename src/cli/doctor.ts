// `igbackup doctor --env E`: every configured target checked end to end (nothing written but the storage probe), as a
// table of ok / warn / fail with the fix for each; exit 6 when any check fails.

import type { Command } from 'commander';
import type { DoctorReport } from '../app/doctor.js';
import { DriftError } from '../domain/errors.js';
import { table } from './format.js';
import { buildContext, globalsOf, type CliDeps } from './globals.js';
import type { Output } from './output.js';

export function registerDoctor(program: Command, deps: CliDeps): void {
  program
    .command('doctor')
    .description(
      "will tonight's backup work, and can the env meet its tier? Checks secrets, the store and KMS key, each transport, the tools and their versions against the server, logins and privileges, pgBackRest with PITR, temp space, locks, each schedule against the RPO target and the newest backups; writes nothing but the storage probe; exit 6 on any fail",
    )
    .requiredOption('-e, --env <name>', 'environment from the config')
    .action(async (flags: { env: string }, cmd: Command) => {
      const g = globalsOf(cmd);
      const out = deps.output(g);
      const ctx = await buildContext(deps, g, out);
      const { doctor } = await import('../app/doctor.js');
      const r = await doctor(ctx, flags);
      out.json({ command: 'doctor', ...r });
      render(out, r);
      const failed = r.checks.filter((c) => c.status === 'fail');
      if (failed.length) {
        throw new DriftError(
          `doctor: ${failed.length} check(s) failed: ${failed.map((c) => `${c.area} ${c.check}`).join('; ')}`,
          { hint: 'each failed check says its fix above (or in --json)' },
        );
      }
    });
}

function render(out: Output, r: DoctorReport): void {
  const paint = (s: string): string =>
    s === 'ok' ? out.c.green(s) : s === 'fail' ? out.c.red(s) : s === 'warn' ? out.c.yellow(s) : s;
  const rows = table([
    ['AREA', 'CHECK', 'STATUS', 'DETAIL'],
    ...r.checks.map((c) => [c.area, c.check, c.status, c.detail]),
  ]);
  const lines = rows
    .split('\n')
    .map((l, i) => (i === 0 ? l : l.replace(/ (ok|warn|fail) /, (m, s: string) => ` ${paint(s)} `)));
  const fixes = r.checks.filter((c) => c.fix && c.status !== 'ok').map((c) => `  ${c.area} ${c.check}: ${c.fix}`);
  const counts = (['ok', 'warn', 'fail'] as const).map((s) => `${r.checks.filter((c) => c.status === s).length} ${s}`);
  out.text(
    [`doctor: env ${r.env}: ${counts.join(', ')}`, ...lines, ...(fixes.length ? ['fixes:', ...fixes] : [])].join('\n'),
  );
}
