// Archived artifacts (GLACIER, DEEP_ARCHIVE) must be restored by S3 before they can be read: request that, then
// wait (--wait) or stop with exit 75 and when to retry. GLACIER_IR and the other classes read directly.

import { setTimeout as sleep } from 'node:timers/promises';
import { ArchivedError, IgbackupError } from '../domain/errors.js';
import { reasonOf } from '../domain/notes.js';
import { objectKeysOf, type Manifest } from '../domain/manifest.js';
import type { ObjectStore } from '../storage/store.js';
import type { AppContext } from './context.js';

export interface ArchiveOptions {
  wait: boolean;
  tier: 'Expedited' | 'Standard' | 'Bulk';
  /** How long the restored copy stays readable. */
  days: number;
  timeoutMs: number;
  pollMs: number;
}

export const DEFAULT_ARCHIVE: ArchiveOptions = {
  wait: false,
  tier: 'Standard',
  days: 3,
  timeoutMs: 12 * 3_600_000,
  pollMs: 60_000,
};

const NEEDS_RESTORE = new Set(['GLACIER', 'DEEP_ARCHIVE']);
/** Typical retrieval times (AWS documentation), for the retry hint. */
const TYPICAL_HOURS: Record<string, Record<ArchiveOptions['tier'], number>> = {
  GLACIER: { Expedited: 0.1, Standard: 5, Bulk: 12 },
  DEEP_ARCHIVE: { Expedited: 12, Standard: 12, Bulk: 48 },
};

/** Makes every key readable, or throws ArchivedError after requesting the restores. */
export async function ensureReadable(
  ctx: AppContext,
  store: ObjectStore,
  keys: string[],
  o: ArchiveOptions,
): Promise<void> {
  const pending: { key: string; cls: string }[] = [];
  for (const key of keys) {
    const info = await store.head(key);
    const cls = info?.storageClass ?? 'STANDARD';
    if (!NEEDS_RESTORE.has(cls)) continue;
    if (info?.restore && !info.restore.ongoing) continue; // a restored copy is readable
    if (!info?.restore) {
      const r = await store.requestRestore(key, o.days, o.tier);
      ctx.reporter.warn(
        `${key} is in ${cls}: ${r === 'requested' ? `requested a ${o.tier} restore for ${o.days} days` : 'a restore is already running'}`,
      );
    } else ctx.reporter.warn(`${key} is in ${cls}: a restore is already running`);
    pending.push({ key, cls });
  }
  if (pending.length === 0) return;
  const hours = Math.max(...pending.map((p) => TYPICAL_HOURS[p.cls]?.[o.tier] ?? 12));
  if (!o.wait) {
    const retryAt = new Date(ctx.now().getTime() + hours * 3_600_000);
    throw new ArchivedError(
      `${pending.length} artifact(s) are archived (${[...new Set(pending.map((p) => p.cls))].join(', ')}); the restore was requested`,
      {
        hint: `a ${o.tier} retrieval typically takes about ${hours} h: retry after ${retryAt.toISOString()}, or run again with --wait`,
      },
    );
  }
  const deadline = Date.now() + o.timeoutMs;
  ctx.reporter.step(
    `waiting for S3 to restore ${pending.length} archived artifact(s) (${o.tier}, typically ~${hours} h)`,
  );
  for (const p of pending) {
    for (;;) {
      const info = await store.head(p.key);
      if (info?.restore && !info.restore.ongoing) break;
      if (Date.now() > deadline) {
        throw new IgbackupError(
          `timed out after ${Math.round(o.timeoutMs / 60000)} min waiting for the restore of ${p.key}`,
          {
            hint: 'the restore keeps running in S3: retry later without --wait, or with a longer --wait-timeout',
          },
        );
      }
      await sleep(o.pollMs, undefined, { signal: ctx.signal }).catch(() => {
        throw reasonOf(ctx.signal); // a cancel ends the wait at once
      });
    }
  }
}

/** ensureReadable for every artifact of a backup, with the default policy when none is given. */
export async function ensureBackupReadable(
  ctx: AppContext,
  store: ObjectStore,
  manifest: Manifest,
  o: ArchiveOptions | undefined,
): Promise<void> {
  await ensureReadable(ctx, store, objectKeysOf(manifest), o ?? DEFAULT_ARCHIVE);
}
