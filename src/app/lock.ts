// Lease locks kept as small objects in the store: one backup per env and engine, one restore per env, engine and
// target, one drill per env and engine. A second run while one holds the lock is refused (exit 7); a lock whose lease
// ran out (a crashed run) is taken over; --force-unlock removes a live one.

import { randomBytes } from 'node:crypto';
import { readFile, readlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { CLOCK_SKEW_MS } from '../domain/complete.js';
import { LockedError } from '../domain/errors.js';
import { controlKeys, type LockScope } from '../domain/keys.js';
import { engineNamed } from '../engines/registry.js';

export type { LockScope };
import { reasonOf } from '../domain/notes.js';
import type { AppContext, EnvHandle } from './context.js';

export const LEASE_MS = 15 * 60_000;
const SETTLE_MS = 300;

interface LockRecord {
  id: string;
  env: string;
  engine: string;
  operation?: string;
  target?: string;
  /** The kernel boot and pid namespace the holder's pid belongs to (Linux), so a dead holder can be recognised. */
  pidSpace?: string;
  holder: string;
  host: string;
  pid: number;
  acquiredAt: string;
  expiresAt: string;
}

export function lockKey(h: EnvHandle, scope: LockScope): string {
  return controlKeys.lock(h.store.prefix, h.name, scope);
}

/** The lock record at key; undefined when there is none; 'invalid' when the object is not a lock record. */
export async function readLock(h: EnvHandle, key: string): Promise<LockRecord | 'invalid' | undefined> {
  if (!(await h.store.head(key))) return undefined;
  let r: Partial<Record<keyof LockRecord, unknown>>;
  try {
    r = JSON.parse((await h.store.getBytes(key)).toString('utf8')) as typeof r;
  } catch {
    return 'invalid';
  }
  const strings = (['id', 'holder', 'host', 'acquiredAt', 'expiresAt'] as const).every((k) => typeof r[k] === 'string');
  if (!r || !strings || typeof r.pid !== 'number' || Number.isNaN(Date.parse(r.expiresAt as string))) return 'invalid';
  return r as LockRecord;
}

/** "<boot id>/<pid namespace>" on Linux (the space a pid is unique in), or undefined where it cannot be read. */
async function pidSpace(): Promise<string | undefined> {
  try {
    const boot = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    return `${boot}/${await readlink('/proc/self/ns/pid')}`;
  } catch {
    return undefined;
  }
}

/**
 * Why a stored lock does not hold (not a lock record, another env's or engine's record, stale, a lease no igbackup
 * grants, a holder that is not running here any more), or undefined when it does.
 */
function whyNotHeld(
  l: LockRecord | 'invalid',
  w: { h: EnvHandle; scope: LockScope; now: Date; lease: number; space: string | undefined },
): string | undefined {
  const { now, lease } = w;
  if (l === 'invalid') return 'the lock object is not a valid lock record';
  if (l.env !== w.h.name || l.engine !== w.scope.engine)
    return `the lock object names env "${String(l.env)}" and engine "${String(l.engine)}", not this key's: not credible`;
  if (w.space !== undefined && l.pidSpace === w.space && l.pid !== process.pid && !alive(l.pid))
    return `the run holding it (pid ${l.pid} on this host, ${l.holder}) is not running any more`;
  const expires = Date.parse(l.expiresAt);
  if (expires <= now.getTime()) return `the lock of ${l.holder} is stale (lease ended ${l.expiresAt})`;
  if (expires > now.getTime() + lease + CLOCK_SKEW_MS)
    return `the lock of ${l.holder} claims a lease until ${l.expiresAt}, longer than any igbackup lease (${lease / 60_000} min): not credible`;
  return undefined;
}

/**
 * Runs fn holding the lock of `scope` in env h: taken (after --force-unlock removed a dead run's lock, or over a lock
 * that does not hold), renewed while fn runs, released afterwards; a live lock of another run refuses (LockedError).
 */
export async function withLock<T>(
  ctx: AppContext,
  h: EnvHandle,
  scope: LockScope,
  opts: { forceUnlock: boolean; leaseMs?: number },
  fn: () => Promise<T>,
): Promise<T> {
  const key = lockKey(h, scope);
  const lease = opts.leaseMs ?? LEASE_MS;
  if (opts.forceUnlock) await forceUnlock(ctx, h, key, scope);
  const mine = await acquire(ctx, h, key, scope, lease);
  const renew = keepRenewed(ctx, h, key, mine, lease);
  try {
    if (ctx.signal.aborted) throw reasonOf(ctx.signal); // cancelled while the lock was taken: start nothing
    return await fn();
  } finally {
    clearInterval(renew);
    const cur = await readLock(h, key).catch(() => undefined);
    if (cur !== 'invalid' && cur?.id === mine.id)
      await h.store
        .release(key)
        .catch((err: unknown) => ctx.reporter.warn(`could not release the lock ${key}: ${(err as Error).message}`));
  }
}

/** --force-unlock: removes the lock at key, refused while its holder runs on this host. */
async function forceUnlock(ctx: AppContext, h: EnvHandle, key: string, scope: LockScope): Promise<void> {
  const held = await readLock(h, key);
  if (held && held !== 'invalid' && held.host === hostname() && held.pid !== process.pid && alive(held.pid)) {
    throw new LockedError(
      `--force-unlock refused: the run holding the lock (a ${what(holderScope(held, scope))}) of env "${h.name}" is alive (pid ${held.pid} on this host, ${held.holder}, since ${held.acquiredAt})`,
      {
        hint: `wait for it, or stop it first (kill ${held.pid}); --force-unlock is for locks of runs that are dead`,
      },
    );
  }
  if (held && held !== 'invalid')
    ctx.reporter.warn(
      `--force-unlock: removing the lock held by ${held.holder} (pid ${held.pid}) since ${held.acquiredAt}`,
    );
  await h.store.release(key);
}

/** Writes this run's lock record at key (taking over one that does not hold) and reads it back; the record written. */
async function acquire(
  ctx: AppContext,
  h: EnvHandle,
  key: string,
  scope: LockScope,
  lease: number,
): Promise<LockRecord> {
  const existing = await readLock(h, key);
  const now = ctx.now();
  const space = await pidSpace();
  if (existing) {
    const why = whyNotHeld(existing, { h, scope, now, lease, space });
    if (!why && existing !== 'invalid') throw locked(existing, h, scope);
    ctx.reporter.warn(`taking over the lock ${key}: ${why}`);
  }
  const mine: LockRecord = {
    id: randomBytes(12).toString('hex'),
    env: h.name,
    engine: scope.engine,
    operation: scope.operation,
    ...(scope.target === undefined ? {} : { target: scope.target }),
    ...(space === undefined ? {} : { pidSpace: space }),
    holder: ctx.actor,
    host: hostname(),
    pid: process.pid,
    acquiredAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + lease).toISOString(),
  };
  await h.store.putBytes(key, JSON.stringify(mine), { retention: 'control' });
  await sleep(SETTLE_MS); // two runs racing: the last write wins, and only its writer reads its own id back
  const back = await readLock(h, key);
  if (back === 'invalid' || back?.id !== mine.id) throw locked(back && back !== 'invalid' ? back : mine, h, scope);
  return mine;
}

/** Extends the lease of `mine` every third of a lease until the returned timer is cleared. */
function keepRenewed(ctx: AppContext, h: EnvHandle, key: string, mine: LockRecord, lease: number): NodeJS.Timeout {
  const renew = setInterval(
    () => {
      void (async () => {
        const cur = await readLock(h, key);
        // Another run's lock (--force-unlock, then a new run): ours is gone. A missing (or garbled) lock is put back: a
        // renewal that failed is rolled back by the store, and this run still holds the engine.
        if (cur && cur !== 'invalid' && cur.id !== mine.id) return;
        await h.store.putBytes(
          key,
          JSON.stringify({ ...mine, expiresAt: new Date(Date.now() + lease).toISOString() }),
          {
            retention: 'control',
          },
        );
      })().catch((err: unknown) => ctx.reporter.warn(`could not renew the lock: ${(err as Error).message}`));
    },
    Math.max(1000, Math.floor(lease / 3)),
  );
  renew.unref();
  return renew;
}

/** Whether a process with this pid runs on this host (EPERM: it does, as another user). */
function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** "postgres restore into "app"", "redis backup": what a lock guards, in words. */
function what(scope: LockScope): string {
  return `${scope.engine} ${scope.operation}${scope.target === undefined ? '' : ` into ${JSON.stringify(scope.target)}`}`;
}

/** What the holder of a lock runs (a Redis restore holds the engine's lock its backups take). */
function holderScope(l: LockRecord, scope: LockScope): LockScope {
  return {
    operation: l.operation === 'restore' || l.operation === 'drill' ? l.operation : 'backup',
    engine: scope.engine,
    target: l.target,
  };
}

function locked(l: LockRecord, h: EnvHandle, scope: LockScope): LockedError {
  const theirs = holderScope(l, scope);
  const mine = theirs.operation === scope.operation ? '' : ` (this ${scope.operation} needs the same lock)`;
  return new LockedError(
    `a ${what(theirs)} of env "${h.name}" is already running: ${l.holder} (pid ${l.pid} on ${l.host}) since ${l.acquiredAt}, lease until ${l.expiresAt}${mine}`,
    { hint: 'wait for it to finish; if that run is dead, its lease ends by itself, or pass --force-unlock' },
  );
}

/** A restore's say over its lock: --force-unlock, or none at all because its caller holds one (a drill's throwaway target). */
export interface RestoreLockOptions {
  forceUnlock?: boolean | undefined;
  /** The caller holds a lock that covers this restore (a drill restoring into a throwaway target). */
  lockHeld?: boolean | undefined;
}

/**
 * One restore per target at a time: PostgreSQL per database (`target`); Redis and Neo4j restores stop the whole
 * service, so they take the engine's lock (`target` undefined), the one its backups take.
 */
export function withRestoreLock<T>(
  ctx: AppContext,
  h: EnvHandle,
  engine: string,
  target: string | undefined,
  opts: RestoreLockOptions,
  fn: () => Promise<T>,
): Promise<T> {
  if (opts.lockHeld) return fn();
  // The engine says whether its restores replace one database beside others or stop the whole service.
  const perTarget = engineNamed(engine)?.restoreLock === 'per-target';
  return withLock(
    ctx,
    h,
    { operation: 'restore', engine, target: perTarget ? target : undefined },
    { forceUnlock: Boolean(opts.forceUnlock) },
    fn,
  );
}
