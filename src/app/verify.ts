// Use case: prove a backup is restorable without touching any database: every artifact's size and sha256 as stored
// and, decompressed, as the producer wrote it, against the manifest; then the engine's own reader over every byte
// (pg_restore decoding every data block to /dev/null, redis-check-rdb, neo4j-admin load + check in a throwaway DBMS).

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { IntegrityError } from '../domain/errors.js';
import { formatBytes } from '../domain/human.js';
import type { Manifest, ManifestArtifact } from '../domain/manifest.js';
import * as neo4j from '../engines/neo4j/commands.js';
import * as pg from '../engines/postgres/commands.js';
import * as redis from '../engines/redis/commands.js';
import { decompressStage } from '../pipeline/compress.js';
import type { Digest } from '../pipeline/hash.js';
import { downloadVerified, makeWorkspace } from '../pipeline/restore-stream.js';
import { ensureBackupReadable, type ArchiveOptions } from './archive.js';
import { resolveBackup } from './catalog.js';
import { selectEnv, type AppContext, type EnvHandle } from './context.js';
import { runCheckTool, type Check } from './check-tool.js';
import { explainNoSpace } from './disk-space.js';
import { loadIntoScratch } from './neo4j-scratch.js';

export interface VerifyResult {
  env: string;
  engine: string;
  key: string;
  artifacts: {
    role: string;
    key: string;
    bytes: number;
    sha256: string;
    rawBytes: number;
    rawSha256: string;
    ok: true;
  }[];
  /** The engine's own reader over the whole artifact (the last of `checks`). */
  nativeCheck: Check;
  /** Everything that was checked and passed, in order, in words. */
  checks: { name: string; detail: string }[];
}

export async function verifyBackup(
  ctx: AppContext,
  opts: {
    env: string;
    engine: string;
    from?: string | undefined;
    latest?: boolean | undefined;
    database?: string | undefined;
    tmpDir?: string | undefined;
    archive?: ArchiveOptions | undefined;
  },
): Promise<VerifyResult> {
  const h = selectEnv(ctx, opts.env);
  const entry = await resolveBackup(ctx, h, opts.engine, opts);
  const m = entry.manifest;
  await ensureBackupReadable(ctx, h.store, m, opts.archive);
  const ws = await makeWorkspace(opts.tmpDir);
  try {
    const checks: VerifyResult['checks'] = [];
    const paths: Record<string, string> = {};
    for (const a of m.artifacts) {
      paths[a.role] = join(ws.dir, a.role);
      checks.push(
        ...(await downloadAndHash(ctx, h, m, a, paths[a.role] as string, { base: opts.tmpDir, dir: ws.dir })),
      );
    }
    const native = await nativeCheck(ctx, h, m, paths.dump ?? '', ws.dir);
    if (!native.ok) {
      throw new IntegrityError(`${entry.key}: ${native.tool} rejects the artifact: ${native.detail}`, {
        hint: 'its bytes match the manifest, so the backup was already bad when it was taken; take a new backup (and check the source), and use an older one meanwhile (igbackup list)',
      });
    }
    checks.push({ name: native.tool, detail: native.detail });
    const artifacts = m.artifacts.map((a) => ({
      role: a.role,
      key: a.key,
      bytes: a.bytes,
      sha256: a.sha256,
      rawBytes: a.rawBytes,
      rawSha256: a.rawSha256,
      ok: true as const,
    }));
    return { env: h.name, engine: opts.engine, key: entry.key, artifacts, nativeCheck: native, checks };
  } finally {
    await ws.cleanup();
  }
}

/**
 * Downloads one artifact, decompressed, into `path`: the stored bytes are checked against the manifest on the way,
 * then the decompressed bytes against the manifest's record of what the producer wrote.
 */
async function downloadAndHash(
  ctx: AppContext,
  h: EnvHandle,
  m: Manifest,
  a: ManifestArtifact,
  path: string,
  where: { base: string | undefined; dir: string },
): Promise<VerifyResult['checks']> {
  ctx.reporter.step(`downloading ${a.key} and checking size and sha256`);
  await downloadVerified(h.store, a.key, path, a, {
    onBytes: (b) => ctx.reporter.progress(b, a.bytes),
    signal: ctx.signal,
    decompress: decompressStage(m.compression, ctx.runner),
  }).catch(async (err: unknown) => {
    throw await explainNoSpace(err, {
      ...where,
      neededBytes: m.artifacts.reduce((n, x) => n + x.rawBytes, 0),
      what: 'the decompressed artifacts',
      alternatives: [],
    });
  });
  const stored = {
    name: `${a.role}: as stored`,
    detail: `${formatBytes(a.bytes)}, size and sha256 ${a.sha256.slice(0, 16)}… match the manifest`,
  };
  const raw: Digest = m.compression === 'none' ? { bytes: a.bytes, sha256: a.sha256 } : await fileDigest(path);
  if (raw.bytes !== a.rawBytes || raw.sha256 !== a.rawSha256) {
    throw new IntegrityError(
      `${a.key}: decompressed (${m.compression}) it is ${raw.bytes} bytes with sha256 ${raw.sha256}, but the manifest says the producer wrote ${a.rawBytes} bytes with sha256 ${a.rawSha256}`,
      {
        hint: 'the stored bytes match the manifest, so the artifact was already wrong when it was written (a compressor fault?); take a new backup',
      },
    );
  }
  const producer =
    m.compression === 'none'
      ? 'uncompressed: the same bytes'
      : `decompressed (${m.compression}): ${formatBytes(raw.bytes)}, size and sha256 ${raw.sha256.slice(0, 16)}…`;
  return [stored, { name: `${a.role}: as the producer wrote it`, detail: `${producer} match the manifest` }];
}

async function fileDigest(path: string): Promise<Digest> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const c of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(c);
    bytes += c.length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** The engine's own reader over the whole downloaded artifact, on this machine (Neo4j: a throwaway DBMS). */
export async function nativeCheck(
  ctx: AppContext,
  h: EnvHandle,
  m: Manifest,
  path: string,
  dir: string,
): Promise<Check> {
  if (m.engine === 'postgres') return checkPgArchive(ctx, h, path);
  if (m.engine === 'redis') {
    ctx.reporter.step('reading the whole RDB with redis-check-rdb');
    const tool = 'redis-check-rdb';
    return runCheckTool(ctx, tool, redis.checkRdbCommand(path), (out) => ({
      tool,
      ok: true,
      detail: redis.describeCheckRdb(out),
    }));
  }
  // Neo4j: load the artifact into a throwaway DBMS on this machine (its own neo4j.conf) and check it there.
  ctx.reporter.step('loading the dump into a throwaway Neo4j and running neo4j-admin database check');
  const { check } = await loadIntoScratch(ctx, h, m, path, dir);
  const how = m.format === neo4j.BACKUP_FORMAT ? 'the whole backup restored' : 'the whole dump loaded';
  return check.ok ? { ...check, detail: `${how} into a throwaway DBMS; consistency check: ${check.detail}` } : check;
}

/** pg_restore --list (the table of contents), then pg_restore decoding every data block to /dev/null. */
async function checkPgArchive(ctx: AppContext, h: EnvHandle, path: string): Promise<Check> {
  const conn = { host: '', port: 0, user: '', binDir: h.env.postgres?.binDir };
  ctx.reporter.step("reading the archive's table of contents (pg_restore --list)");
  let counts = { entries: 0, dataEntries: 0 };
  const listed = await runCheckTool(ctx, 'pg_restore --list', pg.listCommand(conn, path), (out) => {
    counts = pg.parseArchiveList(out);
    return { tool: 'pg_restore --list', ok: counts.entries > 0, detail: `${counts.entries} archive entries` };
  });
  if (!listed.ok) return listed;
  ctx.reporter.step('reading and decoding every data block (pg_restore --file=/dev/null)');
  const tool = 'pg_restore --file=/dev/null (reading every data block)';
  const read = await runCheckTool(ctx, tool, pg.readAllCommand(conn, path));
  if (!read.ok) {
    const why = pg.explainReadFailure(read.detail);
    return { ...read, detail: `${read.detail}${why ? `\n${why}` : ''}` };
  }
  return {
    tool: 'pg_restore',
    ok: true,
    detail: `table of contents: ${counts.entries} archive entries; every data block read and decoded (${counts.dataEntries} table data and large-object entries, written as SQL to /dev/null)`,
  };
}
