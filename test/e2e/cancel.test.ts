// SIGTERM/SIGINT at every stage of a backup, made deterministic by a stalling proxy in front of the test S3 that
// forwards a request and holds its response back: exit 130 within 10 s, the lock released, and the bucket holds
// nothing of the run unless its manifest was confirmed first (then the backup is complete, kept, and exit 0).

import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HeadObjectCommand, ListObjectVersionsCommand, PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { execa, type ResultPromise } from 'execa';
import { BIN, ROOT, pgSection, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import {
  assertNothingStored,
  dropDatabase,
  listKeys,
  makeBigDatabase,
  makeBucket,
  makeDatabase,
  pendingUploads,
  pg,
  psql,
  s3,
  s3Client,
  uniqueName,
  waitForDumpCopy,
} from '../helpers/servers.js';
import { gone } from '../helpers/procs.js';
import { StallProxy, type StallRule } from '../helpers/stall-proxy.js';

const PGFAULT = join(ROOT, 'test', 'fixtures', 'pgfault');
/** What the README promises: any run ends within 10 s of SIGINT/SIGTERM. */
const SIGNAL_BUDGET_MS = 10_000;

interface Run {
  child: ResultPromise;
  proxy: StallProxy;
  bucket: string;
}

let proxies: StallProxy[] = [];
after(async () => {
  for (const p of proxies) await p.close();
  proxies = [];
});

async function startRun(
  db: string,
  rules: StallRule[],
  opts: { env?: Record<string, string>; pg?: Record<string, unknown>; s3?: Record<string, unknown> } = {},
): Promise<Run> {
  const bucket = await makeBucket();
  // Versioned: a plain delete would only hide an object behind a delete marker; removal must be by version.
  await s3Client().send(
    new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
  );
  const proxy = await StallProxy.start(s3.endpoint, rules);
  proxies.push(proxy);
  const dir = await tempDir();
  await writeConfig(dir, {
    envs: {
      ci: {
        storage: s3Storage(bucket, { endpoint: proxy.endpoint, queueSize: 1, minPartSizeMiB: 5, ...opts.s3 }),
        postgres: pgSection([db], opts.pg),
      },
    },
  });
  const child = execa('node', [BIN, 'backup', 'postgres', '--env', 'ci', '--compression', 'none'], {
    cwd: dir,
    env: { NO_COLOR: '1', TEST_PG_PASSWORD: pg.password, ...opts.env },
    reject: false,
    timeout: 120_000,
    forceKillAfterDelay: false, // the test measures how igbackup itself ends; execa must not SIGKILL it after 5 s
  });
  return { child, proxy, bucket };
}

/** Sends `sig`, waits for the exit; returns it with how long it took after the signal. */
async function signal(
  run: Pick<Run, 'child'>,
  sig: 'SIGTERM' | 'SIGINT' = 'SIGTERM',
): Promise<{ code: number; stderr: string; ms: number }> {
  const t0 = Date.now();
  run.child.kill(sig);
  const r = await run.child;
  return { code: r.exitCode ?? -1, stderr: String(r.stderr), ms: Date.now() - t0 };
}

async function exists(bucket: string, key: string): Promise<boolean> {
  try {
    await s3Client().send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

/** Polls until the object is there (the server acted on a request whose answer the proxy holds). */
async function untilStored(bucket: string, key: string): Promise<void> {
  for (let i = 0; i < 200 && !(await exists(bucket, key)); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(await exists(bucket, key), `${key} never appeared`);
}

/** Nothing of the run in the bucket: no object, no older version, no delete marker, no open multipart upload. */
async function assertNoTrace(bucket: string): Promise<void> {
  await assertNothingStored(bucket);
  const v = await s3Client().send(new ListObjectVersionsCommand({ Bucket: bucket }));
  assert.deepEqual(
    [...(v.Versions ?? []), ...(v.DeleteMarkers ?? [])].map((o) => `${o.Key} ${o.VersionId}`),
    [],
    'versions left',
  );
}

/** "PUT /bucket/env/postgres/x.dump?..." -> "env/postgres/x.dump" */
function keyOf(line: string, bucket: string): string {
  return decodeURIComponent(
    line
      .split(' ')[1]!
      .split('?')[0]!
      .slice(bucket.length + 2),
  );
}

function assertCancelled(r: { code: number; stderr: string; ms: number }, sig = 'SIGTERM'): void {
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, new RegExp(`cancelled by ${sig}`));
  assert.ok(r.ms < SIGNAL_BUDGET_MS, `took ${r.ms} ms after the signal`);
  assert.doesNotMatch(r.stderr, /nothing was stored|ERR_STREAM|Unhandled/);
}

describe('a signal at every stage of a backup (S3 behind a stalling proxy)', () => {
  let big: string;
  let small: string;
  before(async () => {
    big = await makeBigDatabase('igb_cancel', 200_000); // ~14 MB: a multipart upload of 5 MiB parts
    small = await makeDatabase(uniqueName('igb_cancel_s'), 200); // one part: a single PutObject
  });
  after(async () => {
    await psql('postgres', `DROP DATABASE IF EXISTS ${big} WITH (FORCE)`);
    await dropDatabase(small);
  });

  it('before the producer starts (the size query hangs): exit 130, nothing stored, the hung child ended', async () => {
    const dir = await tempDir();
    const mark = join(dir, 'psql-started');
    const pids = join(dir, 'pids');
    const run = await startRun(small, [], {
      pg: { binDir: PGFAULT },
      env: { IGB_FAULT: 'stall-psql', IGB_FAULT_MARK: mark, IGB_FAULT_PIDS: pids },
    });
    for (let i = 0; i < 400; i++) {
      if (
        await readFile(mark).then(
          () => true,
          () => false,
        )
      )
        break;
      await new Promise((r) => setTimeout(r, 25));
    }
    const r = await signal(run);
    assertCancelled(r);
    assert.ok(!run.proxy.seen.some((l) => /\.dump/.test(l)), 'an upload started');
    await assertNoTrace(run.bucket);
    const hung = (await readFile(pids, 'utf8')).trim().split('\n').map(Number);
    assert.equal(hung.length, 1);
    assert.ok(await gone(hung[0]!), 'the hung psql (sleep 600) outlived igbackup');
  });

  it('mid-stream (a part upload in flight), by SIGINT: the upload aborted, nothing at the key, pg_dump ended', async () => {
    const run = await startRun(big, [{ match: /^PUT \/[^?]+\.dump\?.*partNumber=1/, action: 'hold' }]);
    const line = await run.proxy.caught(0);
    const r = await signal(run, 'SIGINT');
    assertCancelled(r, 'SIGINT');
    assert.ok(
      r.stderr.includes(`the write to s3://${run.bucket}/${keyOf(line, run.bucket)} left nothing behind`),
      r.stderr,
    );
    await assertNoTrace(run.bucket);
    assert.equal(
      await psql(
        'postgres',
        `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump' AND datname = '${big}'`,
      ),
      '0',
    );
  });

  it('while the multipart upload completes (server done, answer held): that version is removed, exit 130', async () => {
    const run = await startRun(big, [{ match: /^POST \/[^?]+\.dump\?uploadId=/, action: 'hold' }]);
    const line = await run.proxy.caught(0);
    const key = keyOf(line, run.bucket);
    await untilStored(run.bucket, key);
    const r = await signal(run);
    assertCancelled(r);
    assert.match(
      r.stderr,
      new RegExp(
        `the object s3://${run.bucket}/${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(version [^)]+\\) that this write had completed was removed`,
      ),
    );
    await assertNoTrace(run.bucket);
  });

  it('while the multipart upload is being created (server done, answer held): the upload it never heard of is aborted', async () => {
    const run = await startRun(big, [{ match: /^POST \/[^?]+\.dump\?uploads/, action: 'hold' }]);
    const key = keyOf(await run.proxy.caught(0), run.bucket);
    for (let i = 0; i < 200 && !(await pendingUploads(run.bucket)).includes(key); i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await pendingUploads(run.bucket), [key], 'the server never created the upload');
    const r = await signal(run);
    assertCancelled(r);
    await assertNoTrace(run.bucket);
  });

  it('while a single-part PutObject completes (server done, answer held): removed, exit 130', async () => {
    const run = await startRun(small, [{ match: /^PUT \/[^?]+\.dump(\?x-id=PutObject)?$/, action: 'hold' }]);
    const key = keyOf(await run.proxy.caught(0), run.bucket);
    await untilStored(run.bucket, key);
    const r = await signal(run);
    assertCancelled(r);
    assert.match(r.stderr, /that this write had completed was removed/);
    assert.ok(r.stderr.includes(key), r.stderr);
    await assertNoTrace(run.bucket);
  });

  it('between the artifact and the manifest (manifest written, answer held): both removed, exit 130', async () => {
    const run = await startRun(small, [{ match: /^PUT \/[^?]+\.manifest\.json(\?x-id=PutObject)?$/, action: 'hold' }]);
    const manifestKey = keyOf(await run.proxy.caught(0), run.bucket);
    const artifactKey = manifestKey.replace(/\.manifest\.json$/, '');
    await untilStored(run.bucket, manifestKey);
    assert.ok(await exists(run.bucket, artifactKey));
    const r = await signal(run);
    assertCancelled(r);
    assert.ok(r.stderr.includes(`the object s3://${run.bucket}/${manifestKey}`), r.stderr);
    assert.match(r.stderr, removedNote(run.bucket, artifactKey));
    await assertNoTrace(run.bucket);
  });

  it('a failure instead of a signal (the manifest stored, every answer to it lost): manifest and artifact removed, exit 1', async () => {
    const run = await startRun(small, [{ match: /^PUT \/[^?]+\.manifest\.json(\?x-id=PutObject)?$/, action: 'hold' }], {
      s3: { idleTimeoutSec: 2 },
    });
    const manifestKey = keyOf(await run.proxy.caught(0), run.bucket);
    const r = await run.child;
    assert.equal(r.exitCode, 1, String(r.stderr));
    assert.match(String(r.stderr), /stopped answering \(timed out after 3 attempts\)/);
    assert.ok(String(r.stderr).includes(`the object s3://${run.bucket}/${manifestKey}`), String(r.stderr));
    assert.match(String(r.stderr), removedNote(run.bucket, manifestKey.replace(/\.manifest\.json$/, '')));
    await assertNoTrace(run.bucket);
  });

  it('after the manifest was confirmed (while the lock is released): the backup is complete and kept, exit 0, said so', async () => {
    const run = await startRun(small, [
      { match: /^GET \/[^/?]+\/?\?prefix=[^&]*locks[^&]*&versions=/, action: 'delay', ms: 1500 },
    ]);
    await run.proxy.caught(0);
    const r = await signal(run);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /SIGTERM arrived after the work was complete; nothing was cancelled/);
    const keys = await listKeys(run.bucket);
    assert.equal(keys.filter((k) => k.endsWith('.manifest.json')).length, 1, keys.join('\n'));
    assert.equal(keys.filter((k) => k.endsWith('.dump')).length, 1, keys.join('\n'));
    assert.deepEqual(
      keys.filter((k) => k.includes('/.igbackup/')),
      [],
      'the lock was not released',
    );
    assert.deepEqual(await pendingUploads(run.bucket), []);
  });

  it('cleanup that stalls too (abort and lock release unanswered): the last resort exits 130 within 10 s, saying what may be left', async () => {
    const run = await startRun(big, [{ match: /^PUT \/[^?]+\.dump\?.*partNumber=1/, action: 'hold' }], {
      s3: { idleTimeoutSec: 60 },
    });
    await run.proxy.caught(0);
    run.proxy.add({ match: /./, action: 'stall' }); // from now on, nothing is answered
    const r = await signal(run);
    assert.equal(r.code, 130, r.stderr);
    assert.ok(r.ms < SIGNAL_BUDGET_MS, `took ${r.ms} ms after the signal`);
    assert.match(r.stderr, /cancelled by SIGTERM; the cleanup did not finish within 8 s: igbackup stops now/);
    assert.match(r.stderr, /the lock of this run/);
    assert.match(r.stderr, /an incomplete multipart upload/);
    assert.equal(
      await psql(
        'postgres',
        `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump' AND datname = '${big}'`,
      ),
      '0',
    );
  });
});

describe('a signal on the file store', () => {
  it('mid-stream: exit 130 within 10 s, no file left (final, partial or lock)', async () => {
    const db = await makeBigDatabase('igb_cancel_f', 1_000_000);
    const dir = await tempDir();
    const root = join(dir, 'store');
    await writeConfig(dir, { envs: { ci: { storage: { type: 'file', path: root }, postgres: pgSection([db]) } } });
    const child = execa('node', [BIN, 'backup', 'postgres', '--env', 'ci'], {
      cwd: dir,
      env: { NO_COLOR: '1', TEST_PG_PASSWORD: pg.password },
      reject: false,
      timeout: 120_000,
      forceKillAfterDelay: false,
    });
    assert.ok(await waitForDumpCopy(db), 'pg_dump never started copying');
    const r = await signal({ child });
    assertCancelled(r);
    assert.match(r.stderr, /the write to file:\/\/\S+ left nothing behind/);
    const left = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
    assert.deepEqual(
      left.filter((e) => e.isFile()).map((e) => e.name),
      [],
    );
    await psql('postgres', `DROP DATABASE ${db} WITH (FORCE)`);
  });
});

/** The note of a completed artifact removed after a later failure (its version named when the bucket keeps them). */
function removedNote(bucket: string, key: string): RegExp {
  const at = `s3://${bucket}/${key}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`${at}(?: \\(version \\S+\\))? had been stored completely and was removed`);
}
