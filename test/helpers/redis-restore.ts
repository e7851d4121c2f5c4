// Helpers of the Redis restore-safety tests: a redis section with restore settings, an SSH transport, a backup in a
// fresh bucket, a restore run in the background (to signal it), and what a restore may have left in Redis's dir.

import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { BIN, parseJson, runCli, s3Storage, writeConfig } from './cli.js';
import type { RedisInstance } from './redis.js';
import { sshServer } from './servers.js';

export function section(
  r: RedisInstance,
  restore: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    host: '127.0.0.1',
    port: r.port,
    restore: { start: r.start, configFile: r.conf, loadTimeoutSec: 30, ...restore },
    ...extra,
  };
}

export async function runId(r: RedisInstance): Promise<string> {
  return /run_id:(\w+)/.exec(await r.cli('INFO', 'server'))?.[1] ?? '';
}

export async function sshTransport(dir: string): Promise<Record<string, unknown>> {
  const hostKey = (await readFile(sshServer.hostPubFile, 'utf8')).trim().split(/\s+/);
  await writeFile(join(dir, 'known_hosts'), `[127.0.0.1]:${sshServer.port} ${hostKey[0]} ${hostKey[1]}\n`);
  return {
    type: 'ssh',
    host: '127.0.0.1',
    port: sshServer.port,
    user: sshServer.user,
    identityFile: sshServer.key,
    knownHosts: join(dir, 'known_hosts'),
  };
}

/** A backup of `r` in `bucket` (env "dev"); returns its key. */
export async function backup(dir: string, r: RedisInstance, bucket: string): Promise<string> {
  await writeConfig(dir, { envs: { dev: { storage: s3Storage(bucket), redis: section(r) } } });
  const b = await runCli(['--json', 'backup', 'redis', '--env', 'dev'], { cwd: dir });
  assert.equal(b.code, 0, b.stderr);
  return parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
}

export async function waitPong(r: RedisInstance): Promise<void> {
  for (let i = 0; i < 200 && (await r.cli('PING').catch(() => '')) !== 'PONG'; i++) await sleep(50);
}

/** Files a restore creates beside the dump or the config (dump.rdb.igbackup-*, *.igbackup-new, *.igbackup-orig). */
export async function leftovers(...dirs: string[]): Promise<string[]> {
  const names = await Promise.all(dirs.map(async (d) => (await readdir(d)).filter((n) => n.includes('.igbackup-'))));
  return names.flat();
}

/** `igbackup restore redis --env dev --from KEY` in the background, with its stderr collected as it comes. */
export function startRestore(dir: string, key: string) {
  const child = execa('node', [BIN, 'restore', 'redis', '--env', 'dev', '--from', key], {
    cwd: dir,
    env: { NO_COLOR: '1' },
    reject: false,
    timeout: 120_000,
    forceKillAfterDelay: false, // the test judges how igbackup ends after a signal: execa must not SIGKILL it
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  return { child, stderr: () => stderr };
}

/** Polls until `ready()` holds (a marker file, a line on stderr); false after `ms`. */
export async function until(ready: () => boolean | Promise<boolean>, ms = 30_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await ready()) return true;
    await sleep(25);
  }
  return false;
}
