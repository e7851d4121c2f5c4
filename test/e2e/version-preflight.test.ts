// A client older than the server (or than the pg_dump that made the backup) is exit 2 before anything runs, naming the
// package to install: against the real PostgreSQL 15, with a PostgreSQL 14 client (test/fixtures/pgold) on binDir.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { ROOT, parseJson, pgSection, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { assertNothingStored, makeBucket, makeDatabase, psql, uniqueName } from '../helpers/servers.js';
import { startRedis } from '../helpers/redis.js';

const OLD = join(ROOT, 'test', 'fixtures', 'pgold');

describe('version preflight (PostgreSQL)', () => {
  let dir: string;
  let db: string;
  before(async () => {
    dir = await tempDir();
    db = await makeDatabase(uniqueName('igb_ver'), 50);
  });

  it('backup with pg_dump 14 against a 15 server: exit 2 naming postgresql-client-15, nothing run, nothing stored', async () => {
    const bucket = await makeBucket();
    await writeConfig(dir, {
      envs: { ci: { storage: s3Storage(bucket), postgres: pgSection([db], { binDir: OLD }) } },
    });
    const r = await runCli(['backup', 'postgres', '--env', 'ci'], { cwd: dir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /pg_dump 14\.13 on .* is older than the PostgreSQL 15 server at 127\.0\.0\.1:\d+/);
    assert.match(r.stderr, /install postgresql-client-15 or newer/);
    assert.doesNotMatch(r.stderr, /must not run a client older/);
    await assertNothingStored(bucket);
  });

  it('restore and verify with pg_restore 14: exit 2 before the download, the target untouched', async () => {
    const bucket = await makeBucket();
    await writeConfig(dir, { envs: { ci: { storage: s3Storage(bucket), postgres: pgSection([db]) } } });
    const made = await runCli(['--json', 'backup', 'postgres', '--env', 'ci'], { cwd: dir });
    assert.equal(made.code, 0, made.stderr);
    const key = parseJson<{ results: { key: string }[] }>(made).results[0]?.key ?? '';
    await writeConfig(dir, {
      envs: { ci: { storage: s3Storage(bucket), postgres: pgSection([db], { binDir: OLD }) } },
    });
    const before = await psql(db, 'SELECT count(*) FROM customers');
    const r = await runCli(['restore', 'postgres', '--env', 'ci', '--from', key, '--yes'], { cwd: dir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /pg_restore 14\.13 on .* is older than the PostgreSQL 15 server/);
    assert.doesNotMatch(r.stderr, /must not run a client older/);
    assert.equal(await psql(db, 'SELECT count(*) FROM customers'), before);
    // verify reads the archive here: pg_restore 14 cannot read what pg_dump 15 wrote.
    const v = await runCli(['verify', 'postgres', '--env', 'ci', '--from', key], { cwd: dir });
    assert.equal(v.code, 2, v.stderr);
    assert.match(
      v.stderr,
      /the backup was made by pg_dump 15\.\d+; pg_restore 14\.13 on this machine cannot read a newer archive/,
    );
    assert.match(v.stderr, /install postgresql-client-15 or newer/);
    assert.doesNotMatch(v.stderr, /downloading|must not run a client older/);
  });
  it('redis: a backup written by a newer Redis is refused before the target is stopped (exit 2)', async () => {
    const r = await startRedis();
    try {
      await r.cli('SET', 'kept', 'yes');
      const redis = {
        host: '127.0.0.1',
        port: r.port,
        restore: { start: r.start, configFile: r.conf, loadTimeoutSec: 60 },
      };
      await writeConfig(dir, { envs: { dev: { storage: { type: 'file', path: './store' }, redis } } });
      const b = await runCli(['--json', 'backup', 'redis', '--env', 'dev'], { cwd: dir });
      assert.equal(b.code, 0, b.stderr);
      // The manifest as a Redis 7.4 would have written it (the artifact's bytes and hashes unchanged).
      const folder = join(dir, 'store', 'dev', 'redis');
      const name = (await readdir(folder)).find((f) => f.endsWith('.manifest.json'));
      assert.ok(name, 'the manifest');
      const m = JSON.parse(await readFile(join(folder, name), 'utf8')) as { tools: Record<string, string> };
      m.tools.server = '7.4.1';
      await writeFile(join(folder, name), JSON.stringify(m, null, 2));
      await r.cli('SET', 'after', 'backup');
      const res = await runCli(['restore', 'redis', '--env', 'dev', '--latest'], { cwd: dir });
      assert.equal(res.code, 2, res.stderr);
      assert.match(
        res.stderr,
        /written by Redis 7\.4\.1; Redis 7\.\d+\.\d+ at 127\.0\.0\.1:\d+ cannot load a newer RDB/,
      );
      assert.equal(await r.cli('GET', 'after'), 'backup', 'Redis was neither stopped nor changed');
    } finally {
      await r.stop();
    }
  });
});
