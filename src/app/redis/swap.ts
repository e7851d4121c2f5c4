// The destructive part of a Redis restore, as a plan of steps with undos (runPlan): stop, keep the dump aside, (AOF:
// the config with appendonly no), write the restored dump, start and check the load, (AOF: turn it back on and wait
// for the rewrite). Until the plan has run to its end, any failure or cancel brings back exactly the state at the stop.
// The end of the plan is the point of no return: the restored data is then persisted (in the AOF, or as the dump
// Redis loaded); only the config file goes back and the copy kept aside goes, and a failure there says what to run.

import { posix } from 'node:path';
import { IgbackupError } from '../../domain/errors.js';
import { withNote } from '../../domain/notes.js';
import * as files from '../../engines/files.js';
import * as redis from '../../engines/redis/commands.js';
import type { RedisConfig } from '../../config/schema.js';
import { decompressStage } from '../../pipeline/compress.js';
import { feedFile } from '../../pipeline/restore-stream.js';
import { captureOk } from '../../transports/run.js';
import type { Transport } from '../../transports/transport.js';
import { shJoin } from '../../transports/wrapper.js';
import type { AppContext } from '../context.js';
import { runPlan, type Step } from '../plan.js';
import { dropAside, fileUndo, partly, putConfigBack } from './swap-files.js';
import { redisAnswers, redisReady } from './common.js';
import { aofBackOn, checkLoad, oneLine, stopRedis, stopStarted, type LoadResult } from './steps.js';
import { waitUntil } from '../wait.js';

type RestoreConfig = NonNullable<RedisConfig['restore']>;

export interface SwapInput {
  transport: Transport;
  conn: redis.RedisConnection;
  cfg: RedisConfig;
  rdbPath: string;
  plain: string;
  /** With AOF on: the config file's real path (symlinks resolved), rewritten with appendonly no for the load. */
  configFile?: string | undefined;
  stamp: string;
  /** What redis-check-rdb read from the backup. */
  backup: redis.RdbSummary;
}

interface Swap extends SwapInput {
  ctx: AppContext;
  restore: RestoreConfig;
  aside: string;
  name: string;
  timeoutMs: number;
  /** What the steps found out, for the undos that follow. */
  st: { before: 'kept' | 'none'; filesBack: boolean; stopFailed: boolean; load?: LoadResult };
}

/** Runs the plan; then, past the point of no return, drops the copy kept aside and puts the config back. */
export async function swapRdb(ctx: AppContext, input: SwapInput): Promise<LoadResult> {
  const restore = input.cfg.restore as RestoreConfig;
  const x: Swap = {
    ...input,
    ctx,
    restore,
    aside: `${input.rdbPath}.igbackup-${input.stamp}`,
    name: posix.basename(input.rdbPath),
    timeoutMs: restore.loadTimeoutSec * 1000,
    st: { before: 'kept', filesBack: true, stopFailed: false },
  };
  await runPlan(steps(x), { reporter: ctx.reporter, signal: ctx.signal, guard: ctx.guard });
  await dropAside(x);
  if (x.configFile) await putConfigBack(x, x.configFile);
  return x.st.load as LoadResult;
}

/** The plan: stop, keep the dump aside, (AOF: appendonly no), write the restored dump, start, check, (AOF back on). */
function steps(x: Swap): Step[] {
  const { ctx, transport: t, st } = x;
  const conf = x.configFile;
  return [
    stopStep(x),
    keepAsideStep(x),
    ...(conf ? [configStep(x, conf)] : []),
    {
      name: `writing the restored RDB to ${x.rdbPath}.igbackup-new, then renaming it to ${x.name} once every byte is verified`,
      run: async () => {
        const writer = t.start(files.writeNewCommand(x.rdbPath));
        writer.stdout.resume();
        await feedFile(x.plain, decompressStage('none', ctx.runner), writer);
        await captureOk(t, files.renameNewCommand(x.rdbPath));
      },
    },
    startStep(x),
    {
      name: 'checking what Redis loaded against the backup (keys, evictions, maxmemory)',
      run: async () => {
        st.load = await checkLoad(t, x.conn, x.backup);
      },
    },
    ...(conf
      ? [
          {
            name: 'turning AOF back on (CONFIG SET appendonly yes) and waiting for the rewrite',
            run: () => aofBackOn(ctx, t, x.conn, x.timeoutMs),
          },
        ]
      : []),
  ];
}

/** The current dump kept aside as a hard link (or noted as absent); its undo puts it back. */
function keepAsideStep(x: Swap): Step {
  const { transport: t, st } = x;
  return {
    name: `keeping the current ${x.name} aside as ${posix.basename(x.aside)} (a hard link: no copy)`,
    run: async () => {
      st.before = (await captureOk(t, files.keepAsideCommand(x.rdbPath, x.aside))).trim() === 'none' ? 'none' : 'kept';
    },
    undo: fileUndo(
      x,
      `put the previous ${x.name} back`,
      () => captureOk(t, files.putBackCommand(x.rdbPath, x.aside, st.before)),
      () => (st.before === 'kept' ? [`mv -f ${x.aside} ${x.rdbPath}`] : [`rm -f ${x.rdbPath}`]),
    ),
  };
}

/** With AOF on: the config file rewritten with appendonly no (the original kept aside), so Redis loads the RDB. */
function configStep(x: Swap, conf: string): Step {
  const t = x.transport;
  return {
    name: `writing appendonly no into ${conf} (the original kept as ${posix.basename(conf)}.igbackup-orig), so that Redis loads the RDB`,
    run: () =>
      partly(
        captureOk(t, redis.disableAofInConfigCommand(conf)),
        () => captureOk(t, redis.restoreConfigIfSavedCommand(conf)),
        'the original config file is in place',
      ),
    undo: fileUndo(
      x,
      'put the original config file back',
      () => captureOk(t, redis.restoreConfigCommand(conf)),
      () => [`mv -f ${conf}.igbackup-orig ${conf}`],
    ),
  };
}

/** The stop; its undo starts Redis again, but only once every file is back (else it would load the restored data). */
function stopStep(x: Swap): Step {
  const { restore, st } = x;
  const cameBack = x.configFile
    ? 'its AOF, untouched by the restore (the state at the stop)'
    : `the previous ${x.name} (${restore.stop ? 'saved by BGSAVE just before the stop, and by restore.stop if it saves' : 'saved by SHUTDOWN SAVE: every write up to the stop'})`;
  let said = `start Redis again with ${cameBack}`;
  const local = x.transport.kind === 'local';
  return {
    name: `stopping Redis ${x.cfg.host}:${x.cfg.port}${restore.stop ? '' : ' (SHUTDOWN SAVE: the current dataset is saved first)'}`,
    run: () => stopRedis(x.ctx, x.transport, x.conn, x.cfg),
    undo: {
      get name() {
        return said;
      },
      service: `Redis ${x.cfg.host}:${x.cfg.port}${local ? '' : ` (on ${x.transport.host})`}`,
      manual: [shJoin(restore.start)],
      run: async () => {
        if (await redisAnswers(x.transport, x.conn)) {
          // Up again without this undo: a start that went on after it was cut short, or a supervisor. It may have
          // loaded the restored dump, so it is stopped and started here again on the files put back.
          const why = st.stopFailed
            ? 'the Redis started on the restored dump could not be stopped (above)'
            : await stopMeanwhile(x);
          if (why) {
            said = `Redis was not started again: ${why}; check which data it runs`;
            return;
          }
          said = `${said} (a Redis that had come up meanwhile, e.g. from a start that went on after it was cut short, was stopped first)`;
        }
        if (!st.filesBack)
          throw new IgbackupError(
            'not started: a file above could not be put back, and Redis would load the restored data',
          );
        await captureOk(x.transport, { argv: restore.start })
          .then(() => waitUntil('Redis start', x.timeoutMs, () => redisReady(x.transport, x.conn)))
          .catch((e: unknown) => Promise.reject(oneLine(e)));
      },
    },
  };
}

/** Stops a Redis that came up while igbackup had it stopped; returns why it could not, or undefined. */
async function stopMeanwhile(x: Swap): Promise<string | undefined> {
  return stopStarted(x.transport, x.conn, x.restore.stop, x.timeoutMs).then(
    () => undefined,
    (e: unknown) =>
      `a Redis answers (started meanwhile by something else) and could not be stopped (${oneLine(e).message})`,
  );
}

/** The start and the load; its undo, also when the start itself was cut short, stops the Redis it started. */
function startStep(x: Swap): Step {
  const how = x.restore.stop ? shJoin(x.restore.stop) : 'SHUTDOWN NOSAVE FORCE';
  const stop = async (): Promise<boolean> => {
    try {
      return await stopStarted(x.transport, x.conn, x.restore.stop, x.timeoutMs);
    } catch (e) {
      x.st.stopFailed = true;
      throw oneLine(e);
    }
  };
  return {
    name: `starting Redis${x.configFile ? ' with appendonly no' : ''} and waiting for it to load the RDB`,
    run: async () => {
      try {
        await captureOk(x.transport, { argv: x.restore.start });
        await waitUntil(
          'Redis start and RDB load',
          x.timeoutMs,
          () => redisReady(x.transport, x.conn),
          200,
          x.ctx.signal,
        );
      } catch (err) {
        const note = await stop().then(
          (found) =>
            found
              ? `the Redis this start had launched on the restored dump was stopped (${how})`
              : 'no Redis runs the restored dump',
          (e: unknown) => `stopping the Redis this start launched FAILED (${oneLine(e).message})`,
        );
        throw withNote(err, note);
      }
    },
    undo: {
      name: `stop the Redis started on the restored dump (${how}) and wait until it is gone`,
      manual: [x.restore.stop ? how : shJoin(redis.shutdownNoSaveCommand(x.conn).argv)],
      run: () => stop().then(() => undefined),
    },
  };
}
