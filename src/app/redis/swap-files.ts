// The file side of the Redis swap (swap.ts): an undo of a file that blocks the restart when it fails, a step
// that cleans up its own half, and, past the point of no return, the config file put back and the copy aside dropped.

import { IgbackupError, messageOf } from '../../domain/errors.js';
import { withNote } from '../../domain/notes.js';
import * as redis from '../../engines/redis/commands.js';
import { captureOk } from '../../transports/run.js';
import type { Transport } from '../../transports/transport.js';
import { shJoin } from '../../transports/wrapper.js';
import type { AppContext } from '../context.js';
import type { Step } from '../plan.js';
import { oneLine } from './steps.js';

/** What the file helpers need of a swap: where the files are and how to run commands there. */
interface SwapFiles {
  ctx: AppContext;
  transport: Transport;
  /** The dump's file name, and the path of the copy kept aside. */
  name: string;
  aside: string;
  /** Cleared when a file could not be put back: Redis is then not started again. */
  st: { filesBack: boolean };
}

/** An undo of a file; if it fails, Redis is not started again (it would load what the restore put there). */
export function fileUndo(
  x: SwapFiles,
  name: string,
  run: () => Promise<unknown>,
  manual: () => string[],
): NonNullable<Step['undo']> {
  return {
    name,
    get manual() {
      return manual();
    },
    run: async () => {
      try {
        await run();
      } catch (e) {
        x.st.filesBack = false;
        throw oneLine(e);
      }
    },
  };
}

/** A step that may fail half-way cleans up its own part (the plan only undoes completed steps), and says so. */
export async function partly(work: Promise<unknown>, cleanup: () => Promise<unknown>, cleaned: string): Promise<void> {
  try {
    await work;
  } catch (err) {
    const note = await cleanup().then(
      () => cleaned,
      (e: unknown) => `cleaning up FAILED (${oneLine(e).message})`,
    );
    throw withNote(err, note);
  }
}

/** Past the point of no return: a cancel that cuts this short is retried once (commands started after it run). */
export async function putConfigBack(x: SwapFiles, conf: string): Promise<void> {
  const spec = redis.restoreConfigCommand(conf);
  x.ctx.reporter.step(`putting the original ${conf} back`);
  await captureOk(x.transport, spec)
    .catch((e: unknown) =>
      x.ctx.signal?.aborted ? captureOk(x.transport, redis.restoreConfigIfSavedCommand(conf)) : Promise.reject(e),
    )
    .catch((err: unknown) => {
      throw new IgbackupError(
        `the restore is done — Redis runs the restored data, persisted in its AOF — but the original config file could not be put back: ${messageOf(err).split('\n')[0]}`,
        {
          cause: err,
          hint: `on ${x.transport.host}, run: ${shJoin(spec.argv)} — until then ${conf} says appendonly no, and a restart would load ${x.name} without the AOF (losing the writes made since the restore)`,
        },
      );
    });
}

/** Past the point of no return: removes the copy kept aside (retried once); if it stays, says how to remove it. */
export async function dropAside(x: SwapFiles): Promise<void> {
  const rm = { argv: ['rm', '-f', x.aside] };
  await captureOk(x.transport, rm)
    .catch(() => captureOk(x.transport, rm))
    .catch((e: unknown) =>
      x.ctx.reporter.warn(
        `the previous dump is still at ${x.aside} (${messageOf(e).split('\n')[0]}): remove it (on ${x.transport.host}: rm -f ${x.aside})`,
      ),
    );
}
