// Use case: prove a backup is restorable without touching any database: every artifact's size and sha256 as stored
// and, decompressed, as the producer wrote it, against the manifest; then the engine's own reader over every byte
// (pg_restore decoding every data block to /dev/null, redis-check-rdb, neo4j-admin load + check in a throwaway DBMS).

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, IntegrityError } from '../domain/errors.js';
import { formatBytes } from '../domain/human.js';
import { objectKeysOf, type Manifest, type ManifestArtifact } from '../domain/manifest.js';
import type { NativeCheckStep } from '../engines/native-check.js';
import { engineNamed } from '../engines/registry.js';
import { decompressStage } from '../pipeline/compress.js';
import type { Digest } from '../pipeline/hash.js';
import { downloadVerified, makeWorkspace } from '../pipeline/restore-stream.js';
import { capture } from '../transports/run.js';
import { succeeded } from '../transports/transport.js';
import { ensureBackupReadable, type ArchiveOptions } from './archive.js';
import { resolveBackup, type CatalogEntry } from './catalog.js';
import { selectEnv, type AppContext, type EnvHandle } from './context.js';
import { runCheckTool, type Check } from './check-tool.js';
import { explainNoSpace } from './disk-space.js';
import { retentionDays } from '../storage/s3-lock.js';
import { loadIntoScratch } from './neo4j/scratch.js';

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
  /** S3 Object Lock of the backup's objects: the earliest date any of them may be removed; undefined: not locked. */
  lock?: { mode: string; until: string } | undefined;
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
  await readerPreflight(ctx, h, m);
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
    const native = await nativeCheck(ctx, h, entry, paths.dump ?? '', ws.dir);
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
    const lock = await lockOf(ctx, h, [entry.manifestKey, ...objectKeysOf(m)]);
    checks.push({
      name: 'Object Lock',
      detail: lock
        ? `the manifest and every artifact are locked ${lock.mode}; the earliest may be removed after ${lock.until}`
        : h.env.storage.type === 'file'
          ? 'not locked (a file store has no Object Lock: its directory permissions and snapshots protect it)'
          : 'not locked (storage.immutability is not set): whoever may delete objects in the bucket may delete this backup',
    });
    return { env: h.name, engine: opts.engine, key: entry.key, artifacts, nativeCheck: native, checks, lock };
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
    detail: `${formatBytes(a.bytes)}${a.segments ? ` in ${a.segments.length} segments` : ''}, size and sha256 ${a.sha256.slice(0, 16)}… match the manifest`,
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

/** The engine's own reader over the whole downloaded artifact, on this machine (its plan: engines/<name>/index.ts). */
/** The engine's reader here can read what made the artifact (pg_restore against pg_dump), before the download. */
async function readerPreflight(ctx: AppContext, h: EnvHandle, m: Manifest): Promise<void> {
  const engine = engineNamed(m.engine);
  const section = engine ? h.env[engine.name] : undefined;
  const plan = engine?.nativeCheck('', section && 'binDir' in section ? section.binDir : undefined);
  if (plan?.kind !== 'commands' || !plan.toolCheck) return;
  const r = await capture(ctx.runner, plan.toolCheck.command);
  // A reader that does not run is reported by the check itself, with its own hint.
  const old = succeeded(r) ? plan.toolCheck.judge(r.stdout, m.tools) : undefined;
  if (old) throw new ConfigError(old.problem, [], { hint: old.hint });
}

export async function nativeCheck(
  ctx: AppContext,
  h: EnvHandle,
  entry: CatalogEntry,
  path: string,
  dir: string,
): Promise<Check> {
  const m = entry.manifest;
  const engine = engineNamed(m.engine);
  if (!engine) throw new IntegrityError(`the manifest names an unknown engine "${m.engine}"`);
  const section = h.env[engine.name];
  const binDir = section && 'binDir' in section ? section.binDir : undefined;
  const plan = engine.nativeCheck(path, binDir);
  if (plan.kind === 'scratch-dbms') {
    ctx.reporter.step('loading the artifact into a throwaway DBMS and running its consistency check');
    const { check } = await loadIntoScratch(ctx, h, entry, path, dir);
    return check.ok ? { ...check, detail: `${plan.describe(m.format)}; consistency check: ${check.detail}` } : check;
  }
  const details: string[] = [];
  for (const step of plan.steps) {
    ctx.reporter.step(step.report);
    const c = await runCheckTool(ctx, step.tool, step.command, judgeOf(step));
    if (!c.ok) {
      const why = step.explainFailure?.(c.detail);
      return { ...c, detail: `${c.detail}${why ? `\n${why}` : ''}` };
    }
    details.push(c.detail);
  }
  return { ok: true, ...plan.summary(details) };
}

/** A step's judge as runCheckTool takes it (the tool named in the verdict). */
function judgeOf(step: NativeCheckStep): ((stdout: string) => Check) | undefined {
  const judge = step.judge;
  return judge && ((out) => ({ tool: step.tool, ...judge(out) }));
}

/**
 * The Object Lock over a backup's objects (one HeadObject each): the earliest retain-until of them, or undefined when
 * any is not locked now; with storage.immutability set, an unlocked object is warned about.
 */
async function lockOf(ctx: AppContext, h: EnvHandle, keys: string[]): Promise<VerifyResult['lock']> {
  let lock: { mode: string; until: Date } | undefined;
  const now = ctx.now();
  const s = h.env.storage;
  for (const k of keys) {
    const info = await h.store.head(k);
    const l = info?.lock;
    if (!l || l.until <= now) {
      // An object older than the retention is unlocked as it should be; a younger one was written without the lock.
      const young =
        info && now.getTime() - info.lastModified.getTime() < (s.type === 's3' ? retentionDays(s) : 0) * 86_400_000;
      if (s.type === 's3' && s.immutability && young)
        ctx.reporter.warn(`${k} is not locked although storage.immutability is set: run igbackup storage check`);
      return undefined;
    }
    if (!lock || l.until < lock.until) lock = l;
  }
  return lock && { mode: lock.mode, until: lock.until.toISOString() };
}
