// Runs the built igbackup CLI as a user would, with a config written into a temp dir.

import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { pg, s3 } from './servers.js';
import { scratchDir } from './tmp.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'igbackup');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function tempDir(prefix = 'igb-test-'): Promise<string> {
  return scratchDir(prefix);
}

export async function runCli(
  args: string[],
  opts: { cwd: string; env?: Record<string, string>; input?: string },
): Promise<CliResult> {
  const r = await execa('node', [BIN, ...args], {
    cwd: opts.cwd,
    env: { NO_COLOR: '1', TEST_PG_PASSWORD: pg.password, ...(opts.env ?? {}) },
    reject: false,
    input: opts.input ?? '',
    timeout: 300_000,
  });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Starts `igbackup backup postgres --env ENV --compression none` in the background (for mid-stream faults). */
export function startBackup(cwd: string, env: string) {
  return execa('node', [BIN, 'backup', 'postgres', '--env', env, '--compression', 'none'], {
    cwd,
    env: { NO_COLOR: '1', TEST_PG_PASSWORD: pg.password },
    reject: false,
  });
}

/** An s3 storage section for the test radosgw, over HTTPS as real S3 is (its private CA trusted through caFile). */
export function s3Storage(bucket: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 's3', bucket, endpoint: s3.tlsEndpoint, caFile: s3.caFile, kmsKeyId: s3.kmsKeyId, ...extra };
}

export function pgSection(databases: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    host: pg.host,
    port: pg.port,
    user: 'postgres',
    password: { env: 'TEST_PG_PASSWORD' },
    databases,
    ...extra,
  };
}

/** Writes igbackup.yaml into dir and returns its path. */
export async function writeConfig(dir: string, config: unknown): Promise<string> {
  const path = join(dir, 'igbackup.yaml');
  await writeFile(path, typeof config === 'string' ? config : stringify(config));
  return path;
}

export function parseJson<T = Record<string, unknown>>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
  }
}
