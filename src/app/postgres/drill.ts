// The PostgreSQL drill: a scratch database on the configured server (or in a fresh namespace), restored with the
// production restore, the SQL smoke tests, always dropped (unless --keep).

import * as pg from '../../engines/postgres/commands.js';
import { capture } from '../../transports/run.js';
import { succeeded } from '../../transports/transport.js';
import { pgConnection, postgresSection, type AppContext, type EnvHandle } from '../context.js';
import { restorePostgres } from './restore.js';
import { scratchStamp } from '../scratch.js';
import { openTransport } from '../transports.js';
import { inDrillNamespace, inNamespace, kubeTransport } from '../drill/namespace.js';
import {
  drillSubject,
  errorText,
  finish,
  type DrillCheck,
  type DrillSubject,
  type DrillOptions,
  type DrillReport,
} from '../drill/report.js';

export async function drillPostgres(
  ctx: AppContext,
  h: EnvHandle,
  key: string,
  database: string,
  opts: DrillOptions,
): Promise<DrillReport> {
  const k = h.env.drill.kubernetes;
  if (!k?.manifest || !k.pod) return drillPostgresOn(ctx, h, key, database, opts, '');
  // Kubernetes: a fresh namespace with the configured workload; the restore goes into its PostgreSQL.
  // The RTO counts from before the namespace was made, as for the other engines.
  const subject = drillSubject(ctx, { engine: 'postgres', database, key, keep: opts.keep });
  const pod = k.pod;
  return inDrillNamespace(
    ctx,
    k,
    { engine: 'postgres', manifest: k.manifest, pod },
    opts,
    async (ns) => {
      const cfg = postgresSection(ctx, h);
      const inNs = inNamespace(h, {
        postgres: {
          ...cfg,
          transport: kubeTransport(ctx, k, ns, pod, k.container),
          host: k.host,
          port: k.port,
          user: k.user,
          password: k.password,
        },
      });
      return drillPostgresOn(ctx, inNs, key, database, opts, ` in namespace ${ns}`, subject);
    },
    (ns, error) => finish(ctx, h, subject, { target: `namespace ${ns}`, checks: [], error }),
  );
}

/** The drill proper, on the server `h` configures (the source's, or the throwaway namespace's). */
async function drillPostgresOn(
  ctx: AppContext,
  h: EnvHandle,
  key: string,
  database: string,
  opts: DrillOptions,
  where: string,
  subject: DrillSubject = drillSubject(ctx, { engine: 'postgres', database, key, keep: opts.keep }),
): Promise<DrillReport> {
  const scratch = pg.scratchName(database, 'drill', scratchStamp(subject.started, '_'));
  const checks: DrillCheck[] = [];
  let error: string | undefined;
  const cfg = postgresSection(ctx, h);
  const conn = await pgConnection(ctx, h, cfg);
  const transport = await openTransport(ctx, cfg.transport, `envs.${h.name}.postgres`);
  try {
    ctx.reporter.step(`drill: restoring ${key} into scratch database ${scratch}${where}`);
    // A scratch database is never the source: no confirmation needed even in a protected env.
    await restorePostgres(ctx, h, { from: key, targetDb: scratch, yes: true, lockHeld: true });
    checks.push({ name: 'restore', ok: true, detail: `restored into ${scratch}` });
    for (const c of h.env.drill.postgres.filter((x) => x.database === undefined || x.database === database)) {
      const r = await capture(transport, pg.psqlCommand(conn, scratch), `${c.sql.trim().replace(/;?$/, ';')}\n`);
      const got = r.stdout.trim();
      checks.push({
        name: c.sql,
        ok: succeeded(r) && got === c.expect,
        detail: succeeded(r) ? `got "${got}", expected "${c.expect}"` : r.stderrTail.trim(),
      });
    }
  } catch (err) {
    error = errorText(err);
  } finally {
    if (!opts.keep) {
      ctx.reporter.step(`drill: dropping ${scratch}`);
      await capture(transport, pg.psqlCommand(conn, cfg.maintenanceDatabase), pg.sql.dropDatabase(scratch));
    }
    await transport.close();
  }
  return finish(ctx, h, subject, { target: `${conn.host}:${conn.port}/${scratch}${where}`, checks, error });
}
