// Use case: back up Redis as an RDB (redis-cli --rdb -, or BGSAVE then the dump file), verified, manifest last.

import { compressionExtension, type Compression } from '../domain/compression.js';
import { ProcessFailedError } from '../domain/errors.js';
import { artifactKey } from '../domain/keys.js';
import type { ManifestArtifact } from '../domain/manifest.js';
import * as redis from '../engines/redis/commands.js';
import { capture } from '../transports/run.js';
import { succeeded, type CommandSpec, type Transport } from '../transports/transport.js';
import { removeArtifacts, uploadArtifact } from './artifact.js';
import { runnerTools, writeManifest } from './backup-common.js';
import type { AppContext, EnvHandle } from './context.js';
import { bgsaveAndWait, redisCli, redisConnection, redisInfo, redisSection } from './redis-common.js';
import { openTransport, producerIdleMs } from './transports.js';
import type { BackupResult } from './backup-postgres.js';

export interface RedisBackupOptions {
  compression?: Compression | undefined;
  mode?: 'rdb-stream' | 'bgsave' | undefined;
}

export async function backupRedis(ctx: AppContext, h: EnvHandle, opts: RedisBackupOptions): Promise<BackupResult[]> {
  const cfg = redisSection(ctx, h);
  const compression = opts.compression ?? cfg.compression;
  const mode = opts.mode ?? cfg.mode;
  const conn = await redisConnection(ctx, h, cfg);
  const transport = await openTransport(ctx, cfg.transport, `envs.${h.name}.redis`);
  const artifacts: ManifestArtifact[] = [];
  try {
    const { tools, before, memory } = await serverFacts(ctx, transport, conn, compression);

    const started = ctx.now();
    const t0 = performance.now();
    const key = artifactKey({
      storePrefix: h.store.prefix,
      env: h.name,
      engine: 'redis',
      name: cfg.name,
      startedAt: started,
      extension: `${redis.RDB_EXTENSION}${compressionExtension(compression)}`,
    });
    const producer =
      mode === 'bgsave' ? await bgsave(ctx, transport, conn, cfg.bgsaveTimeoutSec) : redis.rdbStreamCommand(conn);
    ctx.reporter.step(`streaming the RDB of ${cfg.host}:${cfg.port} (${mode}) to ${h.store.description}/${key}`);
    artifacts.push(
      await uploadArtifact(ctx, h.store, {
        role: 'dump',
        key,
        command: producer,
        transport,
        compression,
        zstd: { level: cfg.zstdLevel, threads: cfg.zstdThreads },
        sizeEstimate: memory > 0 ? memory : undefined,
        magic: redis.RDB_MAGIC,
        idleTimeoutMs: producerIdleMs(cfg.transport),
        producerHint: `check that Redis at ${cfg.host}:${cfg.port} is reachable and the credentials allow SYNC/--rdb (or use mode: bgsave)`,
      }),
    );
    const durationMs = Math.round(performance.now() - t0);
    const { manifestKey } = await writeManifest(ctx, h, {
      engine: 'redis',
      database: cfg.name,
      transport,
      address: `${cfg.host}:${cfg.port}`,
      format: redis.ARTIFACT_FORMAT,
      compression,
      artifacts,
      tools,
      started,
      durationMs,
      extra: { keysAtStart: String(before), mode },
    });
    const dump = artifacts[0] as ManifestArtifact;
    return [
      {
        env: h.name,
        engine: 'redis',
        database: cfg.name,
        key,
        manifestKey,
        bytes: dump.bytes,
        rawBytes: dump.rawBytes,
        sha256: dump.sha256,
        durationMs,
        artifacts,
      },
    ];
  } catch (err) {
    throw await removeArtifacts(ctx, h.store, artifacts, err);
  } finally {
    await transport.close();
  }
}

/** The tools and server version for the manifest, the key count at the start, and the memory in use (part sizing). */
async function serverFacts(
  ctx: AppContext,
  transport: Transport,
  conn: redis.RedisConnection,
  compression: Compression,
) {
  const tools = await runnerTools(ctx, compression);
  const v = await capture(transport, redis.versionCommand(conn));
  if (!succeeded(v))
    throw new ProcessFailedError('redis-cli', v, {
      hint: `install redis-tools on ${transport.host} or set redis.binDir`,
    });
  tools['redis-cli'] = /(\d+\.\d+\.\d+)/.exec(v.stdout)?.[1] ?? v.stdout.trim();
  const server = await redisInfo(transport, conn, 'server');
  tools.server = server.redis_version ?? 'unknown';
  const before = redis.keyspaceKeys(await redisInfo(transport, conn, 'keyspace'));
  const memory = Number((await redisInfo(transport, conn, 'memory')).used_memory ?? 0);
  return { tools, before, memory };
}

/** BGSAVE and wait for it (redis-common), then stream the dump file the server wrote. */
async function bgsave(
  ctx: AppContext,
  transport: Transport,
  conn: redis.RedisConnection,
  timeoutSec: number,
): Promise<CommandSpec> {
  ctx.reporter.step('BGSAVE: waiting for the server to write a fresh snapshot');
  await bgsaveAndWait(ctx, transport, conn, timeoutSec * 1000);
  const c = redis.parseConfigGet(await redisCli(transport, conn, 'CONFIG', 'GET', 'dir'));
  const f = redis.parseConfigGet(await redisCli(transport, conn, 'CONFIG', 'GET', 'dbfilename'));
  if (!c.dir || !f.dbfilename)
    throw new ProcessFailedError('CONFIG GET dir/dbfilename', {
      exitCode: 1,
      signal: undefined,
      stderrTail: 'no answer (CONFIG may be renamed or forbidden)',
    });
  return redis.catCommand(`${c.dir.replace(/\/+$/, '')}/${f.dbfilename}`);
}
