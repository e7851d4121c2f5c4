// Use case: prove a backup is restorable without touching any database: every artifact's size and sha256 against
// the manifest, then the engine's native check on this machine (pg_restore --list, redis-check-rdb, neo4j-admin
// load + check into a scratch NEO4J_HOME).

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { IntegrityError, ProcessFailedError } from '../domain/errors.js';
import type { Manifest } from '../domain/manifest.js';
import * as neo4j from '../engines/neo4j.js';
import * as pg from '../engines/postgres.js';
import * as redis from '../engines/redis.js';
import { decompressStage } from '../pipeline/compress.js';
import { downloadVerified, feedFile, makeWorkspace } from '../pipeline/restore-stream.js';
import { capture } from '../transports/run.js';
import { succeeded, type CommandSpec } from '../transports/transport.js';
import { ensureBackupReadable, type ArchiveOptions } from './archive.js';
import { resolveBackup } from './catalog.js';
import { selectEnv, type AppContext, type EnvHandle } from './context.js';

export interface VerifyResult {
  env: string;
  engine: string;
  key: string;
  artifacts: { role: string; key: string; bytes: number; sha256: string; ok: true }[];
  nativeCheck: { tool: string; ok: boolean; detail: string };
}

export async function verifyBackup(
  ctx: AppContext,
  opts: { env: string; engine: string; from?: string | undefined; latest?: boolean | undefined; database?: string | undefined; tmpDir?: string | undefined; archive?: ArchiveOptions | undefined },
): Promise<VerifyResult> {
  const h = selectEnv(ctx, opts.env);
  const entry = await resolveBackup(ctx, h, opts.engine, opts);
  await ensureBackupReadable(ctx, h.store, entry.manifest, opts.archive);
  const ws = await makeWorkspace(opts.tmpDir);
  try {
    const verified: VerifyResult['artifacts'] = [];
    const paths: Record<string, string> = {};
    for (const a of entry.manifest.artifacts) {
      const path = join(ws.dir, a.role);
      ctx.reporter.step(`downloading ${a.key} and checking size and sha256`);
      await downloadVerified(h.store, a.key, path, a, {
        onBytes: (b) => ctx.reporter.progress(b, a.bytes),
        signal: ctx.signal,
        decompress: decompressStage(entry.manifest.compression, ctx.runner),
      });
      verified.push({ role: a.role, key: a.key, bytes: a.bytes, sha256: a.sha256, ok: true });
      paths[a.role] = path;
    }
    const native = await nativeCheck(ctx, h, entry.manifest, paths.dump ?? '', ws.dir);
    if (!native.ok) {
      throw new IntegrityError(`${entry.key}: ${native.tool} rejects the artifact: ${native.detail}`, {
        hint: 'the bytes match the manifest, so the backup was bad when taken; take a new backup and check the source',
      });
    }
    return { env: h.name, engine: opts.engine, key: entry.key, artifacts: verified, nativeCheck: native };
  } finally {
    await ws.cleanup();
  }
}

interface Check {
  tool: string;
  ok: boolean;
  detail: string;
}

/** Runs a check tool on this machine; a missing tool is an error of its own (the check did not happen). */
async function run(ctx: AppContext, tool: string, spec: CommandSpec, judge?: (stdout: string) => Check): Promise<Check> {
  const r = await capture(ctx.runner, spec);
  if (r.startError) throw new ProcessFailedError(tool, r, { hint: `install ${tool.split(' ')[0]} on this machine to run the native check` });
  if (!succeeded(r)) return { tool, ok: false, detail: r.stderrTail.trim() || r.stdout.trim() };
  return judge ? judge(r.stdout) : { tool, ok: true, detail: r.stdout.trim().split('\n').slice(-1)[0] ?? '' };
}

/** The engine's own check of a downloaded artifact, on this machine (Neo4j: loaded into a scratch NEO4J_HOME). */
export async function nativeCheck(ctx: AppContext, h: EnvHandle, m: Manifest, path: string, dir: string): Promise<Check> {
  ctx.reporter.step("running the engine's native check");
  if (m.engine === 'postgres') {
    const tool = 'pg_restore --list';
    return run(ctx, tool, pg.listCommand({ host: '', port: 0, user: '', binDir: h.env.postgres?.binDir }, path), (out) => {
      const entries = out.split('\n').filter((l) => /^\d+;/.test(l)).length;
      return { tool, ok: entries > 0, detail: `${entries} archive entries` };
    });
  }
  if (m.engine === 'redis') {
    const tool = 'redis-check-rdb';
    return run(ctx, tool, redis.checkRdbCommand(path), (out) => ({ tool, ok: true, detail: `${redis.parseCheckRdbKeys(out) ?? '?'} keys read` }));
  }
  // Neo4j: load the artifact into a scratch NEO4J_HOME on this machine and run the consistency check there.
  const cfg = h.env.neo4j;
  const tools = { admin: cfg?.neo4jAdmin ?? 'neo4j-admin', syntax: cfg?.syntax ?? ('5' as const) };
  const home = join(dir, 'neo4j-home');
  await mkdir(home, { recursive: true });
  const env = { NEO4J_HOME: home };
  const db = m.target.database;
  if (m.format === neo4j.BACKUP_FORMAT) {
    const r = await capture(ctx.runner, { ...neo4j.restoreCommand(tools, db, path), env });
    if (!succeeded(r)) return { tool: 'neo4j-admin database restore', ok: false, detail: r.stderrTail.trim() };
  } else {
    const loader = ctx.runner.start({ ...neo4j.loadCommand(tools, db), env });
    loader.stdout.resume();
    try {
      await feedFile(path, decompressStage('none', ctx.runner), loader);
    } catch (err) {
      return { tool: 'neo4j-admin database load', ok: false, detail: (err as Error).message };
    }
  }
  return run(ctx, 'neo4j-admin database check', { ...neo4j.checkCommand(tools, db), env });
}
