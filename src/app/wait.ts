// Polling with a deadline, for servers that take a while to stop, start or load.

import { setTimeout as sleep } from 'node:timers/promises';
import { ProcessFailedError } from '../domain/errors.js';

/** Polls `check` every interval until it returns true or the timeout passes. */
export async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>, intervalMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(intervalMs);
  }
  throw new ProcessFailedError(what, { exitCode: undefined, signal: undefined, stderrTail: `timed out after ${Math.round(timeoutMs / 1000)} s` });
}
