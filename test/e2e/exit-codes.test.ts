// Exit codes 75 (archived backup: restore requested, retry later) and 70 (internal error: a bug) through the real CLI.
// radosgw 16 never archives, so S3's GLACIER/DEEP_ARCHIVE answers come from a stand-in proxy in front of it.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { GlacierProxy } from '../storage/glacier-proxy.js';
import { ROOT, parseJson, pgSection, runCli, s3Storage, tempDir, writeConfig, type CliResult } from '../helpers/cli.js';
import {
  dropDatabase,
  listKeys,
  makeBucket,
  makeDatabase,
  pendingUploads,
  psql,
  s3,
  s3Client,
  uniqueName,
} from '../helpers/servers.js';

interface ErrorJson {
  ok: boolean;
  exitCode: number;
  error: { type: string; message: string; hint?: string };
}

function assertJsonError(r: CliResult, exitCode: number, type: string): ErrorJson {
  const body = parseJson<ErrorJson>(r);
  assert.deepEqual([body.ok, body.exitCode, body.error.type], [false, exitCode, type], r.stderr);
  return body;
}

/** The retry time in a hint, checked to be `hours` from now (a generous minute either side on a busy machine). */
function assertRetryAfter(hint: string, hours: number): void {
  const at = /retry after (\S+), or run again with --wait/.exec(hint)?.[1];
  assert.ok(at, hint);
  const off = Date.parse(at) - (Date.now() + hours * 3_600_000);
  assert.ok(Math.abs(off) < 5 * 60_000, `retry after ${at} is not ${hours} h from now`);
}

describe('exit 75: a backup whose artifacts S3 archived', () => {
  let dir: string;
  let bucket: string;
  let db: string;
  let artifacts: string[];
  let proxy: GlacierProxy;
  const verify = (...extra: string[]) =>
    runCli(['--json', 'verify', 'postgres', '--env', 'ci', '--latest', ...extra], { cwd: dir });
  const archiveAll = (cls: 'GLACIER' | 'DEEP_ARCHIVE', opts: { pollsUntilDone?: number } = {}) =>
    artifacts.forEach((k) => proxy.archive(bucket, k, cls, opts));

  before(async () => {
    dir = await tempDir();
    bucket = await makeBucket();
    db = await makeDatabase(uniqueName('igb_x75').replace(/-/g, '_'), 200);
    await writeConfig(dir, { envs: { ci: { storage: s3Storage(bucket), postgres: pgSection([db]) } } });
    const b = await runCli(['--json', 'backup', 'postgres', '--env', 'ci'], { cwd: dir });
    assert.equal(b.code, 0, b.stderr);
    const { key } = parseJson<{ results: { key: string }[] }>(b).results[0]!;
    const manifest = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: `${key}.manifest.json` }));
    artifacts = (
      JSON.parse(await manifest.Body!.transformToString()) as { artifacts: { key: string }[] }
    ).artifacts.map((a) => a.key);
    assert.ok(artifacts.includes(key), `the manifest lists ${artifacts.join(', ')}`);
    // From here on the env reaches the bucket through the stand-in; a lifecycle transition is modelled per test.
    proxy = await GlacierProxy.start(s3.endpoint);
    await writeConfig(dir, {
      envs: { ci: { storage: s3Storage(bucket, { endpoint: proxy.endpoint }), postgres: pgSection([db]) } },
    });
  });
  after(async () => {
    await proxy?.close();
    if (db) await dropDatabase(db);
  });

  it('verify requests a restore and exits 75 with when to retry; again while it runs; exit 0 once S3 restored it', async () => {
    archiveAll('GLACIER');
    const first = await verify();
    assert.equal(first.code, 75, first.stderr);
    for (const k of artifacts)
      assert.match(first.stderr, new RegExp(`${k} is in GLACIER: requested a Standard restore for 3 days`));
    const body = assertJsonError(first, 75, 'ArchivedError');
    assert.equal(
      body.error.message,
      `${artifacts.length} artifact(s) are archived (GLACIER); the restore was requested`,
    );
    assert.match(body.error.hint ?? '', /^a Standard retrieval typically takes about 5 h: retry after /);
    assertRetryAfter(body.error.hint ?? '', 5);
    assert.deepEqual(
      proxy.restoreRequests,
      artifacts.map((k) => ({ key: `${bucket}/${k}`, days: 3, tier: 'Standard' })),
    );
    const reads = () =>
      proxy.seen.filter((l) =>
        artifacts.some((k) => l === `GET /${bucket}/${k}` || l.startsWith(`GET /${bucket}/${k}?`)),
      );
    assert.deepEqual(reads(), [], 'nothing is read from an archived object');

    const again = await verify();
    assert.equal(again.code, 75, again.stderr);
    assert.match(again.stderr, /is in GLACIER: a restore is already running/);
    assert.equal(proxy.restoreRequests.length, artifacts.length, 'a running restore is not requested again');

    artifacts.forEach((k) => proxy.finishRestore(bucket, k));
    const done = await verify();
    assert.equal(done.code, 0, done.stderr);
    assert.equal(parseJson<{ ok: boolean }>(done).ok, true);
    assert.equal(reads().length, artifacts.length, 'the restored copies were read');
  });

  it('restore of a DEEP_ARCHIVE backup (--restore-tier Bulk) exits 75 before touching the target database', async () => {
    archiveAll('DEEP_ARCHIVE');
    const target = uniqueName('igb_x75_t').replace(/-/g, '_');
    const r = await runCli(
      ['--json', 'restore', 'postgres', '--env', 'ci', '--latest', '--target-db', target, '--restore-tier', 'Bulk'],
      { cwd: dir },
    );
    assert.equal(r.code, 75, r.stderr);
    assert.match(r.stderr, /is in DEEP_ARCHIVE: requested a Bulk restore for 3 days/);
    const body = assertJsonError(r, 75, 'ArchivedError');
    assert.match(body.error.message, /are archived \(DEEP_ARCHIVE\); the restore was requested$/);
    assert.match(body.error.hint ?? '', /^a Bulk retrieval typically takes about 48 h: /);
    assertRetryAfter(body.error.hint ?? '', 48);
    assert.equal(await psql('postgres', `SELECT count(*) FROM pg_database WHERE datname LIKE '${target}%'`), '0');
  });

  it('--wait waits for the restore it requested, then reads the backup (exit 0)', async () => {
    archiveAll('GLACIER', { pollsUntilDone: 0 }); // the retrieval is done by the first poll
    const before = proxy.restoreRequests.length;
    const r = await verify('--wait');
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `waiting for S3 to restore ${artifacts.length} archived artifact\\(s\\) \\(Standard, typically ~5 h\\)`,
      ),
    );
    assert.equal(proxy.restoreRequests.length - before, artifacts.length);
  });
});

describe('exit 70: a bug (an error igbackup did not type)', () => {
  it('in the middle of a backup: "internal error", the stack from igbackup\'s code, the hint; nothing left behind', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const db = await makeDatabase(uniqueName('igb_x70').replace(/-/g, '_'), 200);
    try {
      await writeConfig(dir, { envs: { ci: { storage: s3Storage(bucket), postgres: pgSection([db]) } } });
      const hook = join(ROOT, 'test', 'fixtures', 'bin', 'internal-bug.cjs');
      // The bug strikes where the manifest is written: after the artifact was uploaded.
      const r = await runCli(['--json', 'backup', 'postgres', '--env', 'ci'], {
        cwd: dir,
        env: { NODE_OPTIONS: `--require=${hook}`, IGB_TEST_BUG_IN: 'writeManifest' },
      });
      assert.equal(r.code, 70, r.stderr);
      const removed = `s3://${bucket}/ci/postgres/${db}_\\S+\\.dump\\.zst(?: \\(version \\S+\\))? had been stored completely and was removed: the backup did not complete`;
      assert.match(
        r.stderr,
        new RegExp(
          `error: internal error \\(a bug in igbackup\\): TypeError: Cannot read properties of undefined \\(reading 'name'\\); ${removed}\n`,
        ),
      );
      assert.match(
        r.stderr,
        /\n\s+at (async )?writeManifest \(file:\/\/\S+\/dist\/src\/\S+\.js:\d+:\d+\)\n/,
        "the stack names igbackup's own code",
      );
      assert.match(
        r.stderr,
        /hint: please report it with the command line and this output; the operation did not finish, so check what it may have left behind \(igbackup list shows incomplete objects\)/,
      );
      const body = assertJsonError(r, 70, 'TypeError');
      assert.match(body.error.message, /^internal error \(a bug in igbackup\): TypeError: .*\n\s+at /);

      // The hint's advice holds: list shows what was left (here nothing: the artifact was removed, as the message said).
      const list = await runCli(['--json', 'list', '--env', 'ci'], { cwd: dir });
      assert.equal(list.code, 0, list.stderr);
      const listed = parseJson<{ backups: unknown[]; suspects: unknown[]; orphans: unknown[] }>(list);
      assert.deepEqual([listed.backups, listed.suspects, listed.orphans], [[], [], []], list.stdout);
      assert.deepEqual(
        (await listKeys(bucket)).filter((k) => !k.includes('/.igbackup/')),
        [],
        'objects left in the bucket',
      );
      assert.deepEqual(await pendingUploads(bucket), [], 'multipart uploads left open');

      // The bug left no lock behind: the next run (without it) completes.
      const next = await runCli(['backup', 'postgres', '--env', 'ci'], { cwd: dir });
      assert.equal(next.code, 0, next.stderr);
    } finally {
      await dropDatabase(db);
    }
  });
});
