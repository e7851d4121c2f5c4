// A Neo4j restore inside its offline window, as one plan: keep a copy of the current database (dumped through the
// transport into the restore's local workspace, as a backup streams it), load or restore the backup, check it. On a
// failure or a cancel after the copy, the copy is loaded back; a put-back that fails leaves Neo4j down (exit 69), the
// copy kept outside the workspace and named in the commands that finish the job by hand.

import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Neo4jConfig } from '../../config/schema.js';
import { IgbackupError, ProcessFailedError, messageOf } from '../../domain/errors.js';
import * as neo4j from '../../engines/neo4j/commands.js';
import { decompressStage } from '../../pipeline/compress.js';
import { feedFile } from '../../pipeline/restore-stream.js';
import { FileStore } from '../../storage/file.js';
import { capture } from '../../transports/run.js';
import { succeeded, type Transport } from '../../transports/transport.js';
import { uploadArtifact } from '../artifact.js';
import { neo4jTools } from '../../engines/neo4j/backup.js';
import type { AppContext } from '../context.js';
import { explainNoSpace, type SpaceNeed } from '../disk-space.js';
import type { OfflineWindow } from './offline.js';
import { RecoveryError, runPlan, type Step, type Undo } from '../plan.js';
import { scratchStamp } from '../scratch.js';
import { producerIdleMs } from '../transports.js';

export interface ReplaceInput {
  cfg: Neo4jConfig;
  /** Where neo4j-admin runs (the host, or the helper pod), and what the window around it is. */
  where: Transport;
  w: OfflineWindow;
  db: string;
  /** The restore's private workspace: the copy is written there (removed with it). */
  dir: string;
  /** Where a copy that could not be put back is kept (outside the workspace, so it survives the cleanup). */
  keepDir: string;
  space: Omit<SpaceNeed, 'dir'>;
  /** Loads (Community) or restores (Enterprise) the verified backup over the database. */
  apply: (where: Transport) => Promise<void>;
  applyName: string;
}

export interface ReplaceResult {
  checked: boolean;
  /** Bytes of the copy of the previous database, or undefined when the database did not exist before. */
  previousBytes: number | undefined;
}

/** Runs the plan (see the file comment); the error says what was put back, or why there was nothing to put back. */
export async function replaceDatabase(ctx: AppContext, r: ReplaceInput): Promise<ReplaceResult> {
  const copy = join(r.dir, `previous-${r.db}.dump`);
  const out: ReplaceResult = { checked: false, previousBytes: undefined };
  let absent = false;
  const keep: Step = {
    name: `keeping a copy of the current "${r.db}" (neo4j-admin database dump, into ${r.dir})`,
    run: async () => {
      out.previousBytes = await dumpCopy(ctx, r);
      absent = out.previousBytes === undefined;
      if (absent) ctx.reporter.warn(`database "${r.db}" does not exist yet: there is no previous database to keep`);
      else keep.undo = putBack(ctx, r, copy);
    },
  };
  const apply: Step = { name: r.applyName, run: () => r.apply(r.where) };
  const check: Step = {
    name: `neo4j-admin database check ${r.db}`,
    run: async () => {
      const c = await capture(r.where, neo4j.checkCommand(neo4jTools(r.cfg), r.db));
      if (!succeeded(c))
        throw new IgbackupError(
          `neo4j-admin database check found problems in the restored "${r.db}":\n${c.stderrTail.trim()}`,
        );
      out.checked = true;
    },
  };
  try {
    await runPlan([keep, apply, check], { reporter: ctx.reporter, signal: ctx.signal, guard: ctx.guard });
  } catch (err) {
    throw absent ? nothingToPutBack(err, r) : err;
  }
  return out;
}

/** A failure after the load of a database that did not exist before: say so, and what is left (neo4j-admin has no offline drop). */
function nothingToPutBack(err: unknown, r: ReplaceInput): unknown {
  if (!(err instanceof RecoveryError)) return err;
  return new RecoveryError(err.step, err.cause, [
    ...err.recovery,
    `"${r.db}" did not exist before this restore, so there is no previous database to put back: the store of "${r.db}" this restore wrote is left in place (remove it if unwanted: Enterprise: DROP DATABASE \`${r.db}\`; Community: with Neo4j stopped, delete databases/${r.db} and transactions/${r.db} under its data directory)`,
  ]);
}

/** neo4j-admin database dump through the transport into `file`, complete only if the dump exited 0 (and the trailer matched);
 * undefined when the database does not exist. A failure says that nothing was loaded. */
async function dumpCopy(ctx: AppContext, r: ReplaceInput): Promise<number | undefined> {
  try {
    const a = await uploadArtifact(ctx, new FileStore(r.dir, ''), {
      role: 'previous',
      key: `previous-${r.db}.dump`,
      command: neo4j.dumpCommand(neo4jTools(r.cfg), r.db),
      transport: r.where,
      compression: 'none', // a Neo4j dump is compressed already
      zstd: { level: r.cfg.zstdLevel, threads: r.cfg.zstdThreads },
      idleTimeoutMs: producerIdleMs(r.cfg.transport),
      producerHint: `check neo4j-admin on ${r.where.host}`,
    });
    return a.bytes;
  } catch (err) {
    if (err instanceof ProcessFailedError && /database does not exist/i.test(err.stderrTail)) return undefined;
    if (ctx.signal.aborted) throw err;
    const why = await explainNoSpace(err, { ...r.space, dir: r.dir });
    throw new IgbackupError(
      `could not keep a copy of the current "${r.db}" before replacing it, so nothing was loaded: ${messageOf(why)}`,
      {
        cause: why,
        hint:
          why instanceof IgbackupError && why.hint
            ? why.hint
            : `check neo4j-admin database dump ${r.db} on ${r.where.host}; the database is untouched`,
      },
    );
  }
}

/** The undo of the copy: load it back. When that fails, the copy is moved out of the workspace and Neo4j stays down. */
function putBack(ctx: AppContext, r: ReplaceInput, copy: string): Undo {
  const load = neo4j.loadCommand(neo4jTools(r.cfg), r.db);
  const kept = join(r.keepDir, `igbackup-neo4j-previous-${r.db}-${scratchStamp(ctx.now())}.dump`);
  return {
    name: `put the previous "${r.db}" back (loaded the copy taken before the restore)`,
    service: r.w.service,
    manual: [`${r.w.runThere(load.argv)} < ${kept}`, ...r.w.bringBack],
    run: async () => {
      ctx.reporter.step(`putting the previous "${r.db}" back (neo4j-admin database load of the copy ${copy})`);
      try {
        const loader = r.where.start(load);
        loader.stdout.resume();
        await feedFile(copy, decompressStage('none', ctx.runner), loader);
      } catch (e) {
        const where = await rename(copy, kept).then(
          () => `the copy is kept at ${kept} on this machine`,
          (m: unknown) => `the copy could not be kept (${messageOf(m)})`,
        );
        throw new IgbackupError(
          `${messageOf(e).replace(/\s*\n\s*/g, ' ')}; ${where}; Neo4j is not started, so that it does not serve the restored database that failed (or a partial one)`,
        );
      }
    },
  };
}
