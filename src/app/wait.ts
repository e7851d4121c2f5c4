// Polling with a deadline, for servers that take a while to stop, start or load.

import { setTimeout as sleep } from 'node:timers/promises';
import { ProcessFailedError } from '../domain/errors.js';
import { reasonOf } from '../domain/notes.js';

/**
 * Polls `check` every interval until it returns true or the timeout passes. With `signal` (forward steps only, never
 * a recovery step), a cancellation ends the wait at once with the signal's reason.
 */
export async function waitUntil(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
  intervalMs = 200,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (signal?.aborted) throw reasonOf(signal);
    if (await check()) return;
    await sleep(intervalMs, undefined, { signal }).catch(() => undefined);
  }
  throw new ProcessFailedError(what, {
    exitCode: undefined,
    signal: undefined,
    stderrTail: `timed out after ${Math.round(timeoutMs / 1000)} s`,
  });
}
