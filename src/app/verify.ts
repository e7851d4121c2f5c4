// Use case: prove a backup is restorable without touching any database: every artifact's size and sha256 against
// the manifest, then the engine's native check on this machine (pg_restore --list, redis-check-rdb, neo4j-admin
// load + check in a throwaway DBMS with its own neo4j.conf).

import { join } from 'node:path';
import { IntegrityError } from '../domain/errors.js';
import type { Manifest } from '../domain/manifest.js';
import * as pg from '../engines/postgres.js';
import * as redis from '../engines/redis.js';
import { decompressStage } from '../pipeline/compress.js';
import { downloadVerified, makeWorkspace } from '../pipeline/restore-stream.js';
import { ensureBackupReadable, type ArchiveOptions } from './archive.js';
import { resolveBackup } from './catalog.js';
import { selectEnv, type AppContext, type EnvHandle } from './context.js';
import { runCheckTool, type Check } from './check-tool.js';
import { loadIntoScratch } from './neo4j-scratch.js';

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

/** The engine's own check of a downloaded artifact, on this machine (Neo4j: loaded into a throwaway DBMS). */
export async function nativeCheck(ctx: AppContext, h: EnvHandle, m: Manifest, path: string, dir: string): Promise<Check> {
  ctx.reporter.step("running the engine's native check");
  if (m.engine === 'postgres') {
    const tool = 'pg_restore --list';
    return runCheckTool(ctx, tool, pg.listCommand({ host: '', port: 0, user: '', binDir: h.env.postgres?.binDir }, path), (out) => {
      const entries = out.split('\n').filter((l) => /^\d+;/.test(l)).length;
      return { tool, ok: entries > 0, detail: `${entries} archive entries` };
    });
  }
  if (m.engine === 'redis') {
    const tool = 'redis-check-rdb';
    return runCheckTool(ctx, tool, redis.checkRdbCommand(path), (out) => ({ tool, ok: true, detail: `${redis.parseCheckRdbKeys(out) ?? '?'} keys read` }));
  }
  // Neo4j: load the artifact into a throwaway DBMS on this machine (its own neo4j.conf) and check it there.
  return (await loadIntoScratch(ctx, h, m, path, dir)).check;
}
