// The reads before a physical restore into a new directory: the repository holds a base backup for the target, the
// directory is new and outside the cluster's, the port is free (or a spare one), and what the source can tell.

import { ConfigError, NotFoundError, ProcessFailedError } from '../../../domain/errors.js';
import * as info from '../../../engines/postgres/pitr-info.js';
import * as pitr from '../../../engines/postgres/pitr.js';
import { capture } from '../../../transports/run.js';
import { succeeded } from '../../../transports/transport.js';
import { posix } from 'node:path';
import { stanzaInfo } from './backup.js';
import { queryJson, type PitrTarget } from './context.js';

/**
 * The reads before the restore, side by side (each is a round trip to the host: together they cost one), reported in
 * a fixed order: the repository and its base backups, then --target-dir, then the port.
 */
export async function preflight(
  t: PitrTarget,
  at: Date | undefined,
  dir: string,
  wanted: number | undefined,
): Promise<{ repo: info.StanzaInfo; port: number; source: info.SourceFiles | undefined }> {
  const [repo, dirOk, port, source] = await Promise.allSettled([
    stanzaInfo(t),
    checkDir(t, dir),
    wanted === undefined ? sparePort(t) : checkPort(t, wanted).then(() => wanted),
    // The source may be down (that may be why this restore runs): what it can tell is optional.
    queryJson<info.SourceFiles>(t, info.sourceFilesSql(), 'files for the copy'),
  ]);
  if (repo.status === 'rejected') throw repo.reason;
  requireBackupBefore(t, repo.value, at);
  if (dirOk.status === 'rejected') throw dirOk.reason;
  if (port.status === 'rejected') throw port.reason;
  return { repo: repo.value, port: port.value, source: source.status === 'fulfilled' ? source.value : undefined };
}

/** A base backup must have finished before the target (pgBackRest replays WAL forward from one). */
export function requireBackupBefore(t: PitrTarget, repo: info.StanzaInfo, at: Date | undefined): void {
  const usable = repo.backups.filter((b) => !b.error && (at === undefined || Date.parse(b.finishedAt) <= at.getTime()));
  if (usable.length) return;
  const oldest = repo.backups.find((b) => !b.error);
  if (!oldest) {
    throw new NotFoundError(`the repository ${t.repoUrl} holds no base backup of ${t.p.cluster}`, {
      hint: `take one: igbackup backup postgres --physical --env ${t.h.name}`,
    });
  }
  throw new ConfigError(
    `no base backup of ${t.p.cluster} finished before ${at?.toISOString()} (the oldest finished ${oldest.finishedAt})`,
    [],
    { hint: 'pick a later --to' },
  );
}

/**
 * The new directory must not exist yet and must be neither the data directory nor inside it nor around it, as the
 * host resolves the paths (symlinks, "..", trailing slashes): checked there with realpath before anything is made.
 */
async function checkDir(t: PitrTarget, dir: string): Promise<void> {
  const refuse = (why: string): never => {
    throw new ConfigError(`--target-dir ${dir} ${why}`, [], {
      hint: 'give a new absolute path outside the data directory, e.g. beside it',
    });
  };
  if (!posix.isAbsolute(dir)) refuse('must be an absolute path');
  const r = await capture(t.transport, { argv: [...t.p.runAs, 'realpath', '-m', '--', dir, t.p.dataDir] });
  if (!succeeded(r)) throw new ProcessFailedError('realpath (checking --target-dir)', r);
  const [target = '', data = ''] = r.stdout.trim().split('\n');
  if (target === data || target.startsWith(`${data}/`) || data.startsWith(`${target}/`)) {
    refuse(
      `is the cluster's data directory or inside or around it (${data}): a restore there would overwrite it or be backed up with it`,
    );
  }
  const exists = await capture(t.transport, { argv: [...t.p.runAs, 'test', '-e', dir] });
  if (exists.exitCode === 0) refuse('already exists: a restore goes into a new directory');
}

/** A port given with --port must be free on the host (nothing answers there), checked before anything is restored. */
async function checkPort(t: PitrTarget, port: number): Promise<void> {
  if (!(await portFree(t, port))) {
    throw new ConfigError(`--port ${port} is in use on ${t.transport.host}: a server answers there`, [], {
      hint: 'pick a free port, or leave --port out (the first free port after the cluster is used)',
    });
  }
}

/** Nothing answers on the port on the host (pg_isready exits 2). */
async function portFree(t: PitrTarget, port: number): Promise<boolean> {
  return (await capture(t.transport, pitr.readyCommand(t.conn.binDir, port))).exitCode === 2;
}

/** The first port from `from` (after the cluster's) on which nothing answers on the host (pg_isready: 2 = no response). */
export async function sparePort(t: PitrTarget, from = t.cfg.port + 1): Promise<number> {
  for (let port = from; port <= Math.min(65535, t.cfg.port + 50); port++) {
    if (await portFree(t, port)) return port;
  }
  throw new ConfigError(`no free port found after ${t.cfg.port} on ${t.transport.host}`, [], { hint: 'pass --port' });
}
