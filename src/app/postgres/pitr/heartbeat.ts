// Use case `pitr heartbeat` (scheduled every minute with PITR): writes the env's beat into the source server. A
// physical drill then measures the RPO it achieved: the newest beat present in the restored copy against the target.

import { ProcessFailedError } from '../../../domain/errors.js';
import * as pg from '../../../engines/postgres/commands.js';
import { pitrSql } from '../../../engines/postgres/pitr.js';
import { capture } from '../../../transports/run.js';
import { succeeded } from '../../../transports/transport.js';
import { selectEnv, type AppContext } from '../../context.js';
import { openPitr } from './context.js';

export async function pitrHeartbeat(ctx: AppContext, o: { env: string }): Promise<{ env: string; at: string }> {
  const t = await openPitr(ctx, selectEnv(ctx, o.env));
  try {
    const r = await capture(
      t.transport,
      pg.psqlCommand(t.conn, t.cfg.maintenanceDatabase),
      pitrSql.heartbeat(t.h.name),
    );
    if (!succeeded(r)) {
      throw new ProcessFailedError('psql (heartbeat)', r, {
        hint: `${t.conn.user} must be able to create and write the table igbackup_heartbeat in ${t.cfg.maintenanceDatabase}`,
      });
    }
    return { env: t.h.name, at: r.stdout.trim().split('\n').pop() ?? '' };
  } finally {
    await t.transport.close();
  }
}
