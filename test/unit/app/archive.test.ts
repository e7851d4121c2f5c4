// Restore-request logic for archived backups, through a thin seam: a store whose HeadObject answers are scripted.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ensureReadable, type ArchiveOptions } from '../../../src/app/archive.js';
import type { AppContext } from '../../../src/app/context.js';
import { silentReporter, type Reporter } from '../../../src/app/reporter.js';
import { ArchivedError, CancelledError, IgbackupError } from '../../../src/domain/errors.js';
import { parseRestoreHeader } from '../../../src/storage/s3.js';
import type { ObjectInfo, ObjectStore } from '../../../src/storage/store.js';

/**
 * A store whose HeadObject answers follow a script per key, one answer per call; a call past the end of a script
 * fails the test (so a test states exactly how many times a key is polled). Records restore requests and head calls.
 */
function scriptedStore(heads: Record<string, Partial<ObjectInfo>[]>): {
  store: ObjectStore;
  requests: string[];
  heads: Record<string, number>;
} {
  const requests: string[] = [];
  const calls: Record<string, number> = {};
  const store = {
    head: async (key: string) => {
      const i = calls[key] ?? 0;
      calls[key] = i + 1;
      const answer = heads[key]?.[i];
      if (!answer)
        throw new Error(`HeadObject ${key} called ${i + 1} times; the script has ${heads[key]?.length ?? 0} answers`);
      return { key, bytes: 1, lastModified: new Date(0), ...answer } as ObjectInfo;
    },
    requestRestore: async (key: string, days: number, tier: string) => {
      requests.push(`${key}:${days}:${tier}`);
      return 'requested' as const;
    },
  } as unknown as ObjectStore;
  return { store, requests, heads: calls };
}

/** A context whose reporter keeps what it was told ("step: …", "warn: …"). */
function recordingCtx(signal: AbortSignal = new AbortController().signal): { ctx: AppContext; said: string[] } {
  const said: string[] = [];
  const reporter: Reporter = {
    step: (m) => said.push(`step: ${m}`),
    warn: (m) => said.push(`warn: ${m}`),
    progress: () => undefined,
  };
  return { ctx: { reporter, signal, now: () => new Date('2026-11-24T12:00:00Z') } as unknown as AppContext, said };
}

const ctx = { reporter: silentReporter, now: () => new Date('2026-11-24T12:00:00Z') } as unknown as AppContext;
const opts: ArchiveOptions = { wait: false, tier: 'Standard', days: 3, timeoutMs: 1000, pollMs: 1 };

describe('archived backups', () => {
  it('reads STANDARD, GLACIER_IR and already restored copies directly', async () => {
    const { store, requests } = scriptedStore({
      a: [{ storageClass: 'STANDARD' }],
      b: [{ storageClass: 'GLACIER_IR' }],
      c: [{ storageClass: 'GLACIER', restore: { ongoing: false, expiry: 'Fri, 27 Nov 2026 00:00:00 GMT' } }],
    });
    await ensureReadable(ctx, store, ['a', 'b', 'c'], opts);
    assert.deepEqual(requests, []);
  });

  it('requests a restore of GLACIER/DEEP_ARCHIVE objects and exits with the retry time (ArchivedError, exit 75)', async () => {
    const { store, requests } = scriptedStore({
      g: [{ storageClass: 'GLACIER' }],
      d: [{ storageClass: 'DEEP_ARCHIVE', restore: { ongoing: true } }],
    });
    await assert.rejects(ensureReadable(ctx, store, ['g', 'd'], { ...opts, tier: 'Bulk' }), (e: Error) => {
      assert.ok(e instanceof ArchivedError);
      assert.match((e as ArchivedError).hint ?? '', /about 48 h: retry after 2026-11-26T12:00:00\.000Z/);
      return true;
    });
    assert.deepEqual(requests, ['g:3:Bulk'], 'a running restore must not be requested again');
  });

  it('--wait polls HeadObject until the restore is done: one request, the wait reported, one poll per answer', async () => {
    const glacier = { storageClass: 'GLACIER' };
    const ongoing = { ...glacier, restore: { ongoing: true } };
    const done = { ...glacier, restore: { ongoing: false, expiry: 'Fri, 27 Nov 2026 00:00:00 GMT' } };
    const { store, requests, heads } = scriptedStore({
      g: [glacier, ongoing, ongoing, done],
      s: [{ storageClass: 'STANDARD' }],
    });
    const { ctx: rec, said } = recordingCtx();
    const pollMs = 40;
    const started = Date.now();
    await ensureReadable(rec, store, ['g', 's'], { ...opts, wait: true, pollMs });
    const elapsed = Date.now() - started;
    // The first look finds no restore (so one is requested), then the polls answer ongoing, ongoing, done.
    assert.deepEqual(heads, { g: 4, s: 1 }, 'HeadObject calls per key');
    assert.deepEqual(requests, ['g:3:Standard']);
    assert.deepEqual(said, [
      'warn: g is in GLACIER: requested a Standard restore for 3 days',
      'step: waiting for S3 to restore 1 archived artifact(s) (Standard, typically ~5 h)',
    ]);
    // Two "ongoing" answers, so two pauses of pollMs between polls (timers never fire early by more than 1 ms).
    assert.ok(
      elapsed >= 2 * pollMs - 2,
      `the polls were not spaced by pollMs: ${elapsed} ms for 2 pauses of ${pollMs} ms`,
    );
  });

  it('--wait gives up after --wait-timeout with the documented error (not exit 75), and stops polling', async () => {
    const ongoing = { storageClass: 'DEEP_ARCHIVE', restore: { ongoing: true } };
    const { store, requests, heads } = scriptedStore({ d: Array.from({ length: 1000 }, () => ongoing) });
    const { ctx: rec } = recordingCtx();
    await assert.rejects(
      ensureReadable(rec, store, ['d'], { ...opts, wait: true, timeoutMs: 60, pollMs: 10 }),
      (e: Error) => {
        assert.ok(e instanceof IgbackupError && !(e instanceof ArchivedError), `${e.name}: ${e.message}`);
        assert.match(e.message, /^timed out after \d+ min waiting for the restore of d$/);
        assert.equal(
          (e as IgbackupError).hint,
          'the restore keeps running in S3: retry later without --wait, or with a longer --wait-timeout',
        );
        return true;
      },
    );
    assert.deepEqual(requests, [], 'a running restore is not requested again');
    const polled = heads.d ?? 0;
    assert.ok(polled >= 3, `it polled ${polled} times in 60 ms at 10 ms intervals`);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(heads.d, polled, 'it kept polling after giving up');
  });

  it('--wait ends at once when the run is cancelled, with the cancel as the reason', async () => {
    const ongoing = { storageClass: 'GLACIER', restore: { ongoing: true } };
    const { store, heads } = scriptedStore({ g: [ongoing, ongoing, ongoing] });
    const ac = new AbortController();
    const { ctx: rec } = recordingCtx(ac.signal);
    const waiting = ensureReadable(rec, store, ['g'], { ...opts, wait: true, timeoutMs: 3_600_000, pollMs: 3_600_000 });
    setTimeout(() => ac.abort(new CancelledError('cancelled by SIGTERM')), 20);
    const started = Date.now();
    await assert.rejects(waiting, (e: Error) => e instanceof CancelledError && e.message === 'cancelled by SIGTERM');
    assert.ok(Date.now() - started < 10_000, 'the cancel did not end the wait');
    assert.equal(heads.g, 2, 'one look, one poll, then the (cancelled) pause');
  });

  it('parses x-amz-restore', () => {
    assert.deepEqual(parseRestoreHeader('ongoing-request="true"'), { ongoing: true });
    assert.deepEqual(parseRestoreHeader('ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"'), {
      ongoing: false,
      expiry: 'Fri, 21 Dec 2012 00:00:00 GMT',
    });
    assert.equal(parseRestoreHeader(undefined), undefined);
  });
});
