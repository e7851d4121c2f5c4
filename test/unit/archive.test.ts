// Restore-request logic for archived backups, through a thin seam: a store whose HeadObject answers are scripted.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ensureReadable, type ArchiveOptions } from '../../src/app/archive.js';
import type { AppContext } from '../../src/app/context.js';
import { silentReporter } from '../../src/app/reporter.js';
import { ArchivedError } from '../../src/domain/errors.js';
import { parseRestoreHeader } from '../../src/storage/s3.js';
import type { ObjectInfo, ObjectStore } from '../../src/storage/store.js';

function scriptedStore(heads: Record<string, Partial<ObjectInfo>[]>): { store: ObjectStore; requests: string[] } {
  const requests: string[] = [];
  const calls: Record<string, number> = {};
  const store = {
    head: async (key: string) => {
      const seq = heads[key] ?? [{}];
      const i = Math.min(calls[key] ?? 0, seq.length - 1);
      calls[key] = (calls[key] ?? 0) + 1;
      return { key, bytes: 1, lastModified: new Date(0), ...seq[i] } as ObjectInfo;
    },
    requestRestore: async (key: string, days: number, tier: string) => {
      requests.push(`${key}:${days}:${tier}`);
      return 'requested' as const;
    },
  } as unknown as ObjectStore;
  return { store, requests };
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
    const { store, requests } = scriptedStore({ g: [{ storageClass: 'GLACIER' }], d: [{ storageClass: 'DEEP_ARCHIVE', restore: { ongoing: true } }] });
    await assert.rejects(ensureReadable(ctx, store, ['g', 'd'], { ...opts, tier: 'Bulk' }), (e: Error) => {
      assert.ok(e instanceof ArchivedError);
      assert.match((e as ArchivedError).hint ?? '', /about 48 h: retry after 2026-11-26T12:00:00\.000Z/);
      return true;
    });
    assert.deepEqual(requests, ['g:3:Bulk'], 'a running restore must not be requested again');
  });

  it('--wait polls HeadObject until the restore is done', async () => {
    const { store } = scriptedStore({ g: [{ storageClass: 'GLACIER' }, { storageClass: 'GLACIER', restore: { ongoing: true } }, { storageClass: 'GLACIER', restore: { ongoing: false } }] });
    await ensureReadable(ctx, store, ['g'], { ...opts, wait: true });
  });

  it('parses x-amz-restore', () => {
    assert.deepEqual(parseRestoreHeader('ongoing-request="true"'), { ongoing: true });
    assert.deepEqual(parseRestoreHeader('ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"'), { ongoing: false, expiry: 'Fri, 21 Dec 2012 00:00:00 GMT' });
    assert.equal(parseRestoreHeader(undefined), undefined);
  });
});
