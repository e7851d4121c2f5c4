// A tar backup (the whole data directory) restored inside Neo4j's offline window, as one plan: check the space on the
// data directory's filesystem, move its entries aside (a rename into a folder inside it: no space needed, and a mount
// point stays where it is), unpack the verified archive, check every database it holds with neo4j-admin. On a failure
// or a cancel after the move, what was unpacked is removed and the previous entries are moved back; a move back that
// fails leaves Neo4j down (exit 69) with the commands that finish the job by hand. After success the put-aside folder
// is removed. The version check (a tar restores only into the Neo4j version that wrote it) runs before the window.

import type { Neo4jConfig } from '../../config/schema.js';
import { ConfigError, IgbackupError, ServiceDownError } from '../../domain/errors.js';
import { formatBytes } from '../../domain/human.js';
import type { Manifest } from '../../domain/manifest.js';
import * as neo4j from '../../engines/neo4j/commands.js';
import { neo4jTools } from '../../engines/neo4j/backup.js';
import { decompressStage } from '../../pipeline/compress.js';
import { feedFile } from '../../pipeline/restore-stream.js';
import { capture, captureOk } from '../../transports/run.js';
import { succeeded, type Transport } from '../../transports/transport.js';
import type { AppContext } from '../context.js';
import { runPlan, type Step } from '../plan.js';
import { scratchStamp } from '../scratch.js';
import type { OfflineWindow } from './offline.js';

/**
 * Before anything is downloaded or stopped: the Neo4j version where the restore runs must be the one that wrote the
 * archive (a store file format differs between versions; `dump` is the portable method). Exit 2 otherwise.
 */
export async function checkStoreVersion(cfg: Neo4jConfig, where: Transport, m: Manifest, key: string): Promise<void> {
  const wrote = m.tools['neo4j-admin'];
  if (!wrote)
    throw new ConfigError(
      `${key} records no Neo4j version: a tar backup restores only into the version that wrote it`,
      [],
      {
        hint: 'restore a dump backup instead (igbackup backup neo4j --method dump takes one)',
      },
    );
  const r = await capture(where, neo4j.versionCommand(neo4jTools(cfg)));
  const here = succeeded(r) ? neo4j.adminVersionOf(r.stdout) : undefined;
  if (here !== wrote)
    throw new ConfigError(
      `${key} is a tar of Neo4j ${wrote}'s data directory; ${where.host} runs ${here ? `Neo4j ${here}` : `no neo4j-admin that answers (${r.stderrTail.trim() || `exit ${r.exitCode}`})`}: a store is restored only into the version that wrote it, so nothing was touched`,
      [],
      {
        hint: `restore into Neo4j ${wrote}, or restore a dump backup (portable across versions): igbackup backup neo4j --method dump takes one`,
      },
    );
}

export interface StoreReplaceInput {
  cfg: Neo4jConfig;
  where: Transport;
  w: OfflineWindow;
  /** The data directory there (neo4j.dataDir, or the PVC's mount in the helper pod). */
  dataDir: string;
  /** The verified, decompressed archive on this machine. */
  file: string;
  rawBytes: number;
  databases: string[];
}

/**
 * Runs the plan (see the file comment); returns whether every database passed the check, and where the previous
 * entries are: the caller removes them once Neo4j runs on the restored data (removeAside).
 */
export async function replaceStore(
  ctx: AppContext,
  r: StoreReplaceInput,
): Promise<{ checked: boolean; aside: string; asidePath: string }> {
  const aside = `${neo4j.ASIDE_PREFIX}${scratchStamp(ctx.now())}`;
  const asidePath = `${r.dataDir.replace(/\/+$/, '')}/${aside}`;
  const space: Step = {
    name: `checking the free space on ${r.dataDir} (the archive unpacks beside the current data)`,
    run: async () => {
      const free = neo4j.parseFreeKib(await captureOk(r.where, neo4j.freeKibCommand(r.dataDir)));
      if (free !== undefined && free * 1024 < r.rawBytes)
        throw new IgbackupError(
          `${r.dataDir} has ${formatBytes(free * 1024)} free; unpacking the archive needs ${formatBytes(r.rawBytes)} beside the current data (kept until the restore is checked): nothing was changed`,
          { hint: `free space on the filesystem of ${r.dataDir}, then run the restore again` },
        );
    },
  };
  const moveAside = moveAsideStep(ctx, r, aside, asidePath);
  const unpack: Step = {
    name: `unpacking the archive into ${r.dataDir}`,
    run: async () => {
      const tar = r.where.start(neo4j.unpackCommand(r.dataDir));
      tar.stdout.resume();
      await feedFile(r.file, decompressStage('none', ctx.runner), tar);
    },
  };
  let checked = false;
  const check: Step = {
    name: `neo4j-admin database check of ${r.databases.join(', ')}`,
    run: async () => {
      for (const db of r.databases) {
        const c = await capture(r.where, neo4j.checkCommand(neo4jTools(r.cfg), db));
        if (!succeeded(c))
          throw new IgbackupError(
            `neo4j-admin database check found problems in the restored "${db}":\n${c.stderrTail.trim()}`,
          );
      }
      checked = true;
    },
  };
  await runPlan([space, moveAside, unpack, check], { reporter: ctx.reporter, signal: ctx.signal, guard: ctx.guard });
  return { checked, aside, asidePath };
}

/** Moving the entries aside; its undo moves them back (a move back that fails leaves Neo4j down). */
function moveAsideStep(ctx: AppContext, r: StoreReplaceInput, aside: string, asidePath: string): Step {
  return {
    name: `moving the current data directory's entries aside into ${asidePath}`,
    run: async () => {
      const c = await capture(r.where, neo4j.moveAsideCommand(r.dataDir, aside));
      if (succeeded(c)) return;
      const why = c.stderrTail.trim() || `exit ${c.exitCode}`;
      if (c.exitCode !== 2)
        throw new IgbackupError(`could not move the entries of ${r.dataDir} aside (${why}); nothing was changed`, {
          hint: `every entry of ${r.dataDir} must be movable within its filesystem (a mount point inside it is not): restore a dump backup instead, or move the mount`,
        });
      // Some entries moved and could not be moved back: Neo4j must not start on what is left.
      const back = r.w.runThere(neo4j.moveBackCommand(r.dataDir, aside).argv);
      throw new ServiceDownError(r.w.service, {
        cause: new IgbackupError(
          `moving the entries of ${r.dataDir} aside failed midway and could not be undone: ${why}`,
        ),
        commands: [back, ...r.w.bringBack],
        recovery: [`the entries already moved are in ${asidePath} (listed in .igbackup-entries there)`],
        hint: `put them back (${back}), then start Neo4j`,
      });
    },
    undo: {
      name: `put the previous data directory back (from ${asidePath})`,
      service: r.w.service,
      manual: [r.w.runThere(neo4j.moveBackCommand(r.dataDir, aside).argv), ...r.w.bringBack],
      run: async () => {
        ctx.reporter.step(`putting the previous data directory back (from ${asidePath})`);
        await captureOk(r.where, neo4j.moveBackCommand(r.dataDir, aside));
      },
    },
  };
}

/** After Neo4j is back on the restored data: the previous entries go (a failure is a warning naming the folder). */
export async function removeAside(ctx: AppContext, where: Transport, asidePath: string): Promise<void> {
  const removed = await capture(where, neo4j.removeDirCommand(asidePath));
  if (!succeeded(removed))
    ctx.reporter.warn(
      `the previous data directory's entries are still in ${asidePath} (${removed.stderrTail.trim() || `exit ${removed.exitCode}`}): remove that folder`,
    );
}

/**
 * Neo4j did not come back after the restored data was in place: the error says where the previous entries are and
 * how to go back to them.
 */
export function withAsideNote(
  err: unknown,
  dataDir: string,
  aside: string,
  runThere: (argv: string[]) => string,
): unknown {
  if (!(err instanceof ServiceDownError)) return err;
  const back = runThere(neo4j.moveBackCommand(dataDir, aside).argv);
  return new ServiceDownError(err.service, {
    cause: err.cause,
    commands: err.commands,
    recovery: [
      ...err.recovery,
      `the previous data directory's entries are kept in ${dataDir}/${aside}: to go back to them, with Neo4j stopped run ${back}`,
    ],
    hint: err.hint,
  });
}
