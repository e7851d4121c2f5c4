// A client older than the server (or than the pg_dump that made the backup) is exit 2 before anything runs, naming the
// package to install: against the real PostgreSQL 15, with a PostgreSQL 14 client (test/fixtures/pgold) on binDir.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { ROOT, parseJson, pgSection, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { assertNothingStored, makeBucket, makeDatabase, psql, uniqueName } from '../helpers/servers.js';

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
});
