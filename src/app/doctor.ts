// Use case `doctor --env E`: will tonight's backup work, and can this env meet its tier? Every configured target is
// checked end to end, writing nothing but the storage probe `storage check` makes: config and secrets, the store and
// its KMS key, each transport, the tools where each engine runs and their versions against the server, the database
// login and privileges, free temp space, the locks, whether each schedule and method can meet the RPO target, and the
// newest complete backup's age. Each check is ok, warn or fail, with the fix.

import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { longestGapSeconds } from '../config/cron.js';
import { IgbackupError, messageOf } from '../domain/errors.js';
import { tierFit, type Fit } from '../domain/tier-fit.js';
import { ENGINE_REGISTRY } from '../engines/registry.js';
import { selectEnv, type AppContext, type EnvHandle } from './context.js';
import { engineChecks } from './doctor-engine.js';
import { freeBytes } from './disk-space.js';
import { lockKey, readLock } from './lock.js';
import { statusOf, type StatusRow } from './status.js';

export type DoctorStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  /** What is checked: "storage", "postgres", "postgres/app", "here". */
  area: string;
  check: string;
  status: DoctorStatus;
  detail: string;
  fix?: string | undefined;
}

export interface DoctorReport {
  env: string;
  checks: DoctorCheck[];
  ok: boolean;
}

/** Adds checks; a check that throws is a fail with the error's message and hint. */
export class Checks {
  readonly list: DoctorCheck[] = [];
  add(area: string, check: string, status: DoctorStatus, detail: string, fix?: string): void {
    this.list.push({ area, check, status, detail, ...(fix ? { fix } : {}) });
  }
  /** Runs `fn`: its text is an ok, its verdict is itself; its throw a fail (the message's first lines and the hint). */
  async probe(area: string, check: string, fn: () => Promise<string | Fit>): Promise<boolean> {
    try {
      const r = await fn();
      if (typeof r === 'string') this.add(area, check, 'ok', r);
      else this.add(area, check, r.status, r.detail, r.fix);
      return typeof r === 'string' || r.status !== 'fail';
    } catch (err) {
      const text = messageOf(err).split('\n').slice(0, 4).join(' / ');
      this.add(area, check, 'fail', text, err instanceof IgbackupError ? err.hint : undefined);
      return false;
    }
  }
}

export async function doctor(ctx: AppContext, o: { env: string }): Promise<DoctorReport> {
  const h = selectEnv(ctx, o.env);
  const c = new Checks();
  await storageChecks(ctx, h, c);
  for (const engine of Object.values(ENGINE_REGISTRY)) {
    if (h.env[engine.name]) await engineChecks(ctx, h, engine, c);
  }
  await backupChecks(ctx, h, c);
  return { env: h.name, checks: c.list, ok: !c.list.some((x) => x.status === 'fail') };
}

async function storageChecks(ctx: AppContext, h: EnvHandle, c: Checks): Promise<void> {
  const cfg = h.env.storage;
  if (cfg.type === 'file') {
    const dir = resolve(ctx.configDir, cfg.path);
    await c.probe('storage', 'file store writable', async () => {
      await access(dir, constants.W_OK).catch(async () => {
        throw new IgbackupError(`${dir} is missing or not writable by this user`, {
          hint: `create it (mkdir -p ${dir}) with write access for the user that runs igbackup`,
        });
      });
      return `${dir} is writable`;
    });
    return;
  }
  // The SDK is loaded only when a bucket is checked (app/storage.ts keeps it).
  const storage = await import('./storage.js');
  await c.probe('storage', 'bucket and KMS key', async () => {
    const item = await storage.kmsRoundTrip(ctx, h, storage.s3Of(ctx, h));
    if (item.status === 'ok') return item.detail;
    throw new IgbackupError(item.detail, {
      hint: `check storage.bucket (igbackup storage init --env ${h.name} creates it), storage.kmsKeyId, and that this identity has s3:PutObject/GetObject/DeleteObject and kms:GenerateDataKey and kms:Decrypt on the key`,
    });
  });
  await c.probe('storage', 'immutable backups', async () => {
    if (!cfg.immutability)
      return {
        status: 'warn',
        detail:
          'storage.immutability is not set: whoever holds the backup job credentials (ransomware on a database host) can delete every backup',
        fix: `set storage.immutability (Object Lock) and run igbackup storage init --env ${h.name}; give the backup job the backup role of igbackup storage policy`,
      };
    const item = await storage.objectLockStatus(ctx, h);
    if (item.status === 'ok') return item.detail;
    throw new IgbackupError(`Object Lock ${item.status}: ${item.detail}`, {
      hint: `igbackup storage init --env ${h.name} sets it (a bucket created without Object Lock may need to be replaced: see its output)`,
    });
  });
}

/** The newest backups against the tier, each schedule against the RPO target, the temp space, the locks. */
async function backupChecks(ctx: AppContext, h: EnvHandle, c: Checks): Promise<void> {
  let rows: StatusRow[] = [];
  await c.probe('backups', 'catalog', async () => {
    rows = (await statusOf(ctx, h, {})).rows;
    return `${rows.length} configured target(s) read from ${h.store.description}`;
  });
  for (const r of rows) {
    const area = `${r.engine}/${r.database}`;
    if (r.lastSuccess === undefined) {
      c.add(area, 'newest backup', 'fail', 'no complete backup', `igbackup backup ${r.engine} --env ${h.name}`);
    } else if (r.breached) {
      c.add(
        area,
        'newest backup',
        'fail',
        r.reason,
        r.dataAsOf
          ? `the RPO counts from the heartbeat in the last backup (${r.dataAsOf}): run igbackup redis heartbeat --env ${h.name} and check schedule.redisHeartbeat and the replica's lag`
          : `igbackup backup ${r.engine} --env ${h.name}, then check the schedule`,
      );
    } else c.add(area, 'newest backup', 'ok', r.reason);
  }
  const tier = h.env.tier ? ctx.config.tiers[h.env.tier] : undefined;
  for (const engine of Object.values(ENGINE_REGISTRY)) {
    const section = h.env[engine.name];
    if (!section) continue;
    const cron = h.env.schedule?.[engine.name];
    const durations = rows.filter((r) => r.engine === engine.name).map((r) => (r.lastDurationMs ?? 0) / 1000);
    const fit = tierFit({
      engine: engine.name,
      env: h.name,
      rpoTargetSec: tier ? tier.rpoMinutes * 60 : undefined,
      cron,
      gapSec: cron === undefined ? undefined : longestGapSeconds(cron, ctx.now()),
      lastDurationSec: durations.length ? Math.max(...durations) : undefined,
      pitr: engine.name === 'postgres' && Boolean(h.env.postgres?.pitr),
      edition: engine.name === 'neo4j' ? h.env.neo4j?.edition : undefined,
      replica: Boolean(h.env.redis?.replica),
      heartbeat: h.env.schedule?.redisHeartbeat !== undefined,
    });
    c.add(engine.name, `schedule and method vs the ${h.env.tier ?? 'no'} tier`, fit.status, fit.detail, fit.fix);
    await lockCheck(ctx, h, engine.name, c);
  }
  const largest = Math.max(0, ...rows.map((r) => r.lastBytes ?? 0));
  await c.probe('here', 'temp space for a restore', async () => {
    const free = await freeBytes(undefined);
    if (free < largest) {
      throw new IgbackupError(`${gib(free)} free in the temp dir, the largest newest backup is ${gib(largest)}`, {
        hint: 'free space, or pass --tmp-dir on a larger filesystem to restore and verify',
      });
    }
    return `${gib(free)} free in the temp dir (largest newest backup ${gib(largest)})`;
  });
}

async function lockCheck(ctx: AppContext, h: EnvHandle, engine: string, c: Checks): Promise<void> {
  await c.probe(engine, 'backup lock', async () => {
    const lock = await readLock(h, lockKey(h, { operation: 'backup', engine }));
    if (lock === undefined) return 'free';
    if (lock === 'invalid') {
      throw new IgbackupError('the lock object is not a lock record', {
        hint: `igbackup backup ${engine} --env ${h.name} --force-unlock replaces it`,
      });
    }
    const expired = Date.parse(lock.expiresAt) < ctx.now().getTime();
    const who = `held by ${lock.holder} on ${lock.host} (pid ${lock.pid}) since ${lock.acquiredAt}`;
    if (!expired) return `${who}: a backup runs now`;
    throw new IgbackupError(`${who}, lease expired at ${lock.expiresAt}: that run died`, {
      hint: `make sure it is not running, then igbackup backup ${engine} --env ${h.name} --force-unlock`,
    });
  });
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}
