// Runs the built CLI with a hard deadline and its wall time, for tests that prove nothing hangs.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { BIN } from './cli.js';
import { pg } from './servers.js';

export interface Timed {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs igbackup with a hard deadline far above what any case may take (a hang fails the test, not the suite). */
export async function timed(args: string[], cwd: string, env: Record<string, string> = {}): Promise<Timed> {
  const t0 = Date.now();
  const r = await execa('node', [BIN, ...args], {
    cwd,
    env: { NO_COLOR: '1', TEST_PG_PASSWORD: pg.password, ...env },
    reject: false,
    timeout: 120_000,
  });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), ms: Date.now() - t0 };
}

/** Pids written one per line (by fixtures that leave processes behind). */
export async function pidsIn(file: string): Promise<number[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map(Number);
}

/** No unhandled stream error (the old failure mode after a killed decompressor) ever reaches the operator. */
export function noCrash(r: Timed): void {
  assert.doesNotMatch(r.stderr, /ERR_STREAM_PREMATURE_CLOSE|Unhandled|at .*\.js:\d+/, r.stderr);
}
