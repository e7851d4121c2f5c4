// The offline window a backup plan may need (engines/backup-plan.ts OfflineWindow), opened around the work: the
// service stopped and started again, or the workload scaled to 0 with the work in a helper pod. The work fails inside
// the window when nothing was stored (so the recovery is part of the message); a failure after stored backups says
// which backups are complete.

import type { KubernetesTransportConfig, TransportConfig } from '../config/schema.js';
import { IgbackupError, ServiceDownError, messageOf } from '../domain/errors.js';
import type { OfflineWindow } from '../engines/backup-plan.js';
import type { Transport } from '../transports/transport.js';
import type { BackupOutcome } from './backup-common.js';
import type { AppContext } from './context.js';
import { withServiceStopped } from './neo4j/offline.js';
import { withOfflinePod } from './neo4j/offline-pod.js';

interface Stored {
  database: string;
  key: string;
}

export async function withBackupWindow<R extends Stored>(
  ctx: AppContext,
  cfg: { transport: TransportConfig; engine: string },
  window: OfflineWindow | undefined,
  transport: Transport,
  work: (where: Transport) => Promise<BackupOutcome<R>>,
): Promise<BackupOutcome<R>> {
  if (!window) return work(transport);
  let done: BackupOutcome<R> | undefined;
  const inside = async (where: Transport): Promise<BackupOutcome<R>> => {
    done = await work(where);
    if (!done.results.length && done.failures[0]) throw done.failures[0].error;
    return done;
  };
  try {
    if (window.kind === 'kubernetes-helper-pod') {
      return await withOfflinePod(ctx, cfg.transport as KubernetesTransportConfig, window.workload, inside);
    }
    return await withServiceStopped(ctx, transport, window.service, () => inside(transport));
  } catch (err) {
    throw storedButNotBack(err, done, cfg.engine);
  }
}

/** A failure after the units (the service not brought back): the message says which backups were stored complete. */
function storedButNotBack<R extends Stored>(err: unknown, done: BackupOutcome<R> | undefined, engine: string): unknown {
  if (!done?.results.length) return err;
  const stored = done.results.map((r) => `  ${r.database}: ${r.key} (complete, manifest written)`).join('\n');
  if (err instanceof ServiceDownError) {
    // The service is down: that stays the error (exit 69, its first line); the stored backups are added below it.
    return new ServiceDownError(err.service, {
      cause: err.cause,
      commands: err.commands,
      recovery: err.recovery,
      hint: err.hint,
      after: `The backup itself succeeded and is stored:\n${stored}`,
    });
  }
  const hint = err instanceof IgbackupError && err.hint ? `${err.hint}; ` : '';
  return new IgbackupError(`${messageOf(err)}\nThe backup itself succeeded and is stored:\n${stored}`, {
    cause: err,
    hint: `${hint}the stored backups are usable (igbackup list ${engine} --env ENV)`,
  });
}
