// The PostgreSQL engine builds argv and SQL as data: no secrets in argv, names quoted literally.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as pg from '../../../src/engines/postgres/commands.js';
import { clientTooOld } from '../../../src/engines/postgres/versions.js';

const conn: pg.PgConnection = { host: 'db', port: 5433, user: 'backup', password: 's3cret', sslmode: 'require' };

describe('postgres engine', () => {
  it('dumps custom format uncompressed, password only in env', () => {
    const c = pg.dumpCommand(conn, 'app');
    assert.deepEqual(c.argv.slice(0, 4), ['pg_dump', '--format=custom', '--compress=0', '--no-password']);
    assert.ok(!c.argv.join(' ').includes('s3cret'));
    assert.deepEqual(c.env, { PGPASSWORD: 's3cret' });
  });

  it('quotes odd database names in the connection string so they stay one literal name', () => {
    assert.equal(pg.conninfoValue("a b'c\\d"), "'a b\\'c\\\\d'");
    const ci = pg.conninfo(conn, "x' host=evil");
    assert.match(ci, /dbname='x\\' host=evil'/);
    assert.match(ci, /^host='db' port='5433' user='backup'/);
  });

  it('restores from stdin, or from a file with parallel jobs', () => {
    assert.equal(pg.restoreCommand(conn, 'a', { jobs: 1 }).stdin, 'pipe');
    const f = pg.restoreCommand(conn, 'a', { jobs: 4, file: '/tmp/x', noOwner: true });
    assert.deepEqual(f.argv.slice(-4), ['--no-owner', '--no-privileges', '--jobs=4', '/tmp/x']);
    assert.equal(f.stdin, 'ignore');
    const tuned = pg.restoreCommand(conn, 'a', {
      jobs: 1,
      settings: { maintenance_work_mem: '256MB', synchronous_commit: 'off' },
    });
    assert.match(
      tuned.argv.join(' '),
      /--dbname=.* options='-c maintenance_work_mem=256MB -c synchronous_commit=off'$/,
    );
    assert.ok(!pg.conninfo(conn, 'a').includes('options='), 'no options keyword without settings');
  });

  it('uses binDir for every program', () => {
    assert.equal(
      pg.versionCommand({ ...conn, binDir: '/opt/pg/bin/' }, 'pg_restore').argv[0],
      '/opt/pg/bin/pg_restore',
    );
  });

  it('swaps in one transaction after ending sessions, carrying the properties over, only renaming when the target is new', () => {
    const s = pg.sql.swap('app', 'app__r', 'app__o', true);
    assert.match(
      s,
      /pg_terminate_backend[\s\S]*BEGIN;\nDO \$igb\$[\s\S]*\$igb\$;\nALTER DATABASE "app" RENAME TO "app__o";\nALTER DATABASE "app__r" RENAME TO "app";\nCOMMIT;/,
    );
    const fresh = pg.sql.swap('app', 'app__r', 'app__o', false);
    assert.doesNotMatch(fresh, /app__o|DO \$igb\$|pg_terminate_backend/);
  });

  it('scratch names stay within 63 bytes', () => {
    const n = pg.scratchName('x'.repeat(80), 'restore', '20261124110148');
    assert.ok(Buffer.byteLength(n) <= 63);
    assert.match(n, /__igb_restore_20261124110148$/);
  });

  it('verify reads the whole archive (--file=/dev/null), not only its table of contents', () => {
    assert.deepEqual(pg.readAllCommand({ ...conn, binDir: '/opt/pg/bin' }, '/tmp/d').argv, [
      '/opt/pg/bin/pg_restore',
      '--file=/dev/null',
      '/tmp/d',
    ]);
    const list =
      ';\n; Archive created at 2026-11-27\n214; 1259 16401 TABLE public a postgres\n3352; 2613 16780 BLOB - 16780 postgres\n3348; 0 16401 TABLE DATA public a postgres\n3360; 0 0 SEQUENCE SET public s postgres\n3353; 0 0 BLOBS - BLOBS \n3205; 1259 16410 INDEX public b_id_idx postgres\n';
    assert.deepEqual(pg.parseArchiveList(list), { entries: 6, dataEntries: 2 });
    assert.match(
      pg.explainReadFailure('pg_restore: error: could not read from input file: end of file') ?? '',
      /cut short when it was taken/,
    );
    assert.match(
      pg.explainReadFailure('pg_restore: error: could not find block ID 3349 in archive -- possibly corrupt archive') ??
        '',
      /cut short/,
    );
    assert.equal(pg.explainReadFailure('pg_restore: error: unsupported version (1.16) in file header'), undefined);
  });

  it('parses tool versions', () => {
    assert.equal(pg.parseToolVersion('pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n'), '15.18');
  });

  it('a client older than the server names the package; same or newer majors, and unknown versions, pass', () => {
    const where = { host: 'db1:22', server: '10.0.0.5:5432' };
    const old = clientTooOld('pg_dump', '15.18', 160004, where);
    assert.match(
      old?.problem ?? '',
      /^pg_dump 15\.18 on db1:22 is older than the PostgreSQL 16 server at 10\.0\.0\.5:5432/,
    );
    assert.match(old?.hint ?? '', /install postgresql-client-16 or newer on db1:22/);
    assert.equal(clientTooOld('pg_dump', '16.1', 160004, where), undefined);
    assert.equal(clientTooOld('pg_dump', '17.2', 150008, where), undefined);
    assert.equal(clientTooOld('pg_dump', 'unknown', 160004, where), undefined);
    assert.equal(clientTooOld('pg_dump', '15.1', Number.NaN, where), undefined);
    // 9.6 numbering (90624) is below 10: majors were two numbers then; igbackup does not judge them.
    assert.equal(clientTooOld('pg_dump', '9.6', 90624, where), undefined);
  });
});
