// Use cases: `storage init` (set up the env's bucket) and `storage check` (audit it, plus a real multipart upload
// with the KMS key, which proves kms:GenerateDataKey and kms:Decrypt).

import { createHash, randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { S3Client } from '@aws-sdk/client-s3';
import type { S3StorageConfig } from '../config/schema.js';
import { ConfigError } from '../domain/errors.js';
import { controlKeys } from '../domain/keys.js';
import { s3ClientConfig, S3Store } from '../storage/s3.js';
import { applyGovernance, auditGovernance, governanceItems, type GovernanceItem } from '../storage/governance/index.js';
import { selectEnv, type AppContext, type EnvHandle } from './context.js';

const PROBE_ATTEMPTS = 4;
const PROBE_INTERVAL_MS = 1500;

export interface StorageReport {
  env: string;
  bucket: string;
  items: GovernanceItem[];
  ok: boolean;
}

/** The env's S3 settings, with caFile resolved against the config file's directory (as openStore does). */
export function s3Of(ctx: AppContext, h: EnvHandle): S3StorageConfig {
  const cfg = h.env.storage;
  if (cfg.type !== 's3') {
    throw new ConfigError(`env "${h.name}" uses a ${cfg.type} store: storage init/check apply to s3 stores`);
  }
  return cfg.caFile === undefined ? cfg : { ...cfg, caFile: resolve(ctx.configDir, cfg.caFile) };
}

export async function storageInit(ctx: AppContext, opts: { env: string; dryRun: boolean }): Promise<StorageReport> {
  const h = selectEnv(ctx, opts.env);
  const cfg = s3Of(ctx, h);
  ctx.reporter.step(`${opts.dryRun ? 'planning' : 'setting up'} s3://${cfg.bucket} for env ${h.name}`);
  const items = await applyGovernance(
    governanceItems(new S3Client(s3ClientConfig(cfg)), cfg, h.name, { pitrRepository: Boolean(h.env.postgres?.pitr) }),
    opts.dryRun,
    async (item) => {
      if (item !== 'bucket-policy' && item !== 'public-access-block') return undefined;
      // Retried: a server may take a moment to apply a change (or to forget one that was just rolled back).
      let probe = await kmsRoundTrip(ctx, h, cfg);
      for (let i = 1; i < PROBE_ATTEMPTS && probe.status !== 'ok'; i++) {
        await sleep(PROBE_INTERVAL_MS);
        probe = await kmsRoundTrip(ctx, h, cfg);
      }
      return probe.status === 'ok'
        ? undefined
        : `igbackup's own SSE-KMS upload was refused (${probe.detail.split('\n')[0]})`;
    },
  );
  if (!opts.dryRun) {
    // Remember what this server cannot do, so `storage check` reports it as unsupported rather than drift.
    const unsupported = items.filter((i) => i.status === 'unsupported').map((i) => i.item);
    // Never at the cost of the report: the write fails, say, on a bucket that refuses the Object Lock headers.
    await h.store
      .putBytes(
        stateKey(h),
        `${JSON.stringify({ unsupported, at: ctx.now().toISOString(), by: ctx.actor }, null, 2)}\n`,
      )
      .catch((err: unknown) =>
        items.push({ item: 'init-record', status: 'failed', detail: (err as Error).message.split('\n')[0] ?? '' }),
      );
  }
  return { env: h.name, bucket: cfg.bucket, items, ok: !items.some((i) => i.status === 'failed') };
}

export async function storageCheck(ctx: AppContext, opts: { env: string }): Promise<StorageReport> {
  const h = selectEnv(ctx, opts.env);
  const cfg = s3Of(ctx, h);
  ctx.reporter.step(`auditing s3://${cfg.bucket} for env ${h.name}`);
  const audited = await auditGovernance(
    governanceItems(new S3Client(s3ClientConfig(cfg)), cfg, h.name, { pitrRepository: Boolean(h.env.postgres?.pitr) }),
  );
  const known = await knownUnsupported(h);
  const items = audited.map((i) =>
    i.status === 'drift' && known.includes(i.item)
      ? {
          ...i,
          status: 'unsupported' as const,
          detail: `${i.detail} (storage init found this server does not support it)`,
        }
      : i,
  );
  if (items[0]?.item === 'bucket' && items[0].status === 'ok') items.push(await kmsRoundTrip(ctx, h, cfg));
  return {
    env: h.name,
    bucket: cfg.bucket,
    items,
    ok: !items.some((i) => i.status === 'drift' || i.status === 'failed'),
  };
}

/** The bucket's Object Lock audited against storage.immutability (the "object-lock" item of storage check). */
export async function objectLockStatus(ctx: AppContext, h: EnvHandle): Promise<GovernanceItem> {
  const cfg = s3Of(ctx, h);
  const items = governanceItems(new S3Client(s3ClientConfig(cfg)), cfg, h.name).filter((i) => i.name === 'object-lock');
  return (await auditGovernance(items))[0] ?? { item: 'object-lock', status: 'skipped', detail: 'not configured' };
}

function stateKey(h: EnvHandle): string {
  return controlKeys.storageInit(h.store.prefix, h.name);
}

async function knownUnsupported(h: EnvHandle): Promise<string[]> {
  try {
    const state = JSON.parse((await h.store.getBytes(stateKey(h))).toString('utf8')) as {
      unsupported?: unknown;
    } | null;
    return Array.isArray(state?.unsupported) ? state.unsupported.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * A multipart upload (two parts) with the env's KMS key, read back and compared, then removed by its version (with
 * Object Lock: locked one day and released with a delete marker, since no one may remove a locked version).
 */
export async function kmsRoundTrip(ctx: AppContext, h: EnvHandle, cfg: S3StorageConfig): Promise<GovernanceItem> {
  const store = new S3Store({ ...cfg, minPartSizeMiB: 5, queueSize: 1 });
  const key = controlKeys.storageProbe(store.prefix, h.name, `kms-${Date.now()}-${randomBytes(4).toString('hex')}`);
  const data = randomBytes(6 * 1024 * 1024 + 1234);
  ctx.reporter.step('multipart test upload with the KMS key');
  try {
    const put = await store.put(
      key,
      Readable.from([data.subarray(0, 3 * 1024 * 1024), data.subarray(3 * 1024 * 1024)]),
      { sizeEstimate: data.length, retention: 'control' },
    );
    const back = await store.getBytes(key);
    if (cfg.immutability) await store.release(key);
    else await store.delete(key, put.versionId);
    const same = createHash('sha256').update(back).digest('hex') === createHash('sha256').update(data).digest('hex');
    return same
      ? {
          item: 'kms-multipart',
          status: 'ok',
          detail: `multipart upload encrypted with ${put.kmsKeyId ?? cfg.kmsKeyId} and read back (kms:GenerateDataKey and kms:Decrypt work)`,
        }
      : { item: 'kms-multipart', status: 'drift', detail: 'the object read back differs from what was written' };
  } catch (err) {
    await store.delete(key).catch(() => undefined);
    return { item: 'kms-multipart', status: 'drift', detail: (err as Error).message };
  }
}
