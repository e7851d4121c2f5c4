// What a PostgreSQL restore may replace and what the replaced database keeps (real PostgreSQL 15): templates, names
// PostgreSQL would truncate, the maintenance database and targets with sessions this role cannot end are refused
// (exit 2) before anything is downloaded; a swapped-in database keeps the old one's owner, privileges, connection
// limit, settings (also per role), comment and ALLOW_CONNECTIONS.

import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { parseJson, pgSection, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import {
  dropDatabase,
  dropRoles,
  fingerprint,
  makeBucket,
  makeDatabase,
  pg,
  psql,
  uniqueName,
} from '../helpers/servers.js';

const ident = (p: string): string => uniqueName(p).replace(/-/g, '_');
const PW = 'restorer-pw-0815';

/** Everything a database carries besides its contents, as one comparable text. */
const properties = (db: string): Promise<string> =>
  psql(
    'postgres',
    `SELECT pg_get_userbyid(d.datdba) || '|' || coalesce(d.datacl::text, 'default') || '|' || d.datconnlimit || '|' || d.datallowconn || '|' ||
       coalesce(shobj_description(d.oid, 'pg_database'), '') || '|' ||
       coalesce((SELECT string_agg(coalesce(pg_get_userbyid(nullif(s.setrole, 0)), '*') || ':' || array_to_string(s.setconfig, ';'), ',' ORDER BY s.setrole)
                 FROM pg_db_role_setting s WHERE s.setdatabase = d.oid), '')
     FROM pg_database d WHERE d.datname = '${db}'`,
  );

describe('postgres restore: which targets, and what the replaced database keeps', () => {
  let dir: string;
  /** The same env, restoring as a role without superuser rights. */
  let weakDir: string;
  let key: string;
  let source: string;
  const weak = ident('igb_restorer');
  const app = ident('igb_app');
  const roles = [weak, app];
  const databases: string[] = [];

  before(async () => {
    dir = await tempDir();
    const bucket = await makeBucket();
    source = await makeDatabase(ident('igb_tgt'), 300);
    databases.push(source);
    await psql('postgres', `CREATE ROLE ${weak} LOGIN CREATEDB PASSWORD '${PW}'; CREATE ROLE ${app} LOGIN;`);
    await writeConfig(dir, { envs: { ci: { storage: s3Storage(bucket), postgres: pgSection([source]) } } });
    weakDir = await tempDir();
    await writeConfig(weakDir, {
      envs: {
        ci: { storage: s3Storage(bucket), postgres: pgSection([source], { user: weak, password: { env: 'WEAK_PW' } }) },
      },
    });
    const b = await runCli(['--json', 'backup', 'postgres', '--env', 'ci'], { cwd: dir });
    assert.equal(b.code, 0, b.stderr);
    key = parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
  });

  after(async () => {
    for (const d of databases) {
      await psql('postgres', `ALTER DATABASE "${d}" IS_TEMPLATE false`).catch(() => undefined);
      await dropDatabase(d);
    }
    await dropRoles(roles);
  });

  it('a template, a name over 63 bytes, an empty name or the maintenance database: exit 2 before anything, nothing changed', async () => {
    const tpl = await makeDatabase(ident('igb_tpl'), 5);
    databases.push(tpl);
    await psql('postgres', `ALTER DATABASE "${tpl}" IS_TEMPLATE true`);
    const before = await fingerprint(tpl);
    const t = await runCli(['restore', 'postgres', '--env', 'ci', '--from', key, '--target-db', tpl], { cwd: dir });
    assert.equal(t.code, 2, t.stderr);
    assert.match(
      t.stderr,
      /is a template \(datistemplate\): every CREATE DATABASE copies it, and a restore never replaces one/,
    );
    assert.equal(await fingerprint(tpl), before);
    assert.equal(await psql('postgres', `SELECT count(*) FROM pg_database WHERE datname LIKE '${tpl}\\_\\_igb%'`), '0');

    const long = `igb_${'x'.repeat(56)}_AAAAAAA`;
    const l = await runCli(['restore', 'postgres', '--env', 'ci', '--from', key, '--target-db', long], { cwd: dir });
    assert.equal(l.code, 2, l.stderr);
    assert.match(l.stderr, /is 68 bytes long; PostgreSQL names are at most 63 bytes/);
    assert.equal(await psql('postgres', `SELECT count(*) FROM pg_database WHERE datname LIKE 'igb\\_xxxxxxxx%'`), '0');

    const e = await runCli(['restore', 'postgres', '--env', 'ci', '--from', key, '--target-db', ''], { cwd: dir });
    assert.equal(e.code, 2, e.stderr);
    assert.match(e.stderr, /--target-db is empty/);

    const m = await runCli(['restore', 'postgres', '--env', 'ci', '--from', key, '--target-db', 'postgres'], {
      cwd: dir,
    });
    assert.equal(m.code, 2, m.stderr);
    assert.match(m.stderr, /is the maintenance database igbackup connects to/);
  });

  it('a --tmp-dir that is missing or a file: exit 2 naming it, before anything is downloaded or created', async () => {
    const file = `${dir}/a-file`;
    await writeFile(file, 'x');
    const target = ident('igb_tmpdir');
    for (const [tmp, says] of [
      [`${dir}/nope`, /--tmp-dir .*\/nope does not exist/],
      [file, /--tmp-dir .*\/a-file is not a directory/],
    ] as const) {
      const r = await runCli(
        ['restore', 'postgres', '--env', 'ci', '--from', key, '--target-db', target, '--tmp-dir', tmp],
        { cwd: dir },
      );
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, says);
      assert.doesNotMatch(r.stderr, /downloading/);
    }
    assert.equal(await psql('postgres', `SELECT count(*) FROM pg_database WHERE datname LIKE '${target}%'`), '0');
  });

  it('the swapped-in database keeps owner, privileges, connection limit, settings (also per role), comment', async () => {
    const target = await makeDatabase(ident('igb_props'), 7);
    databases.push(target);
    await psql(
      'postgres',
      `ALTER DATABASE "${target}" OWNER TO ${app};
       REVOKE CONNECT, TEMPORARY ON DATABASE "${target}" FROM PUBLIC;
       GRANT CONNECT ON DATABASE "${target}" TO ${weak} WITH GRANT OPTION;
       ALTER DATABASE "${target}" CONNECTION LIMIT 7;
       ALTER DATABASE "${target}" SET work_mem = '8MB';
       ALTER DATABASE "${target}" SET search_path = public, "my schema";
       ALTER ROLE ${app} IN DATABASE "${target}" SET statement_timeout = '5s';
       COMMENT ON DATABASE "${target}" IS 'billing — do not drop';`,
    );
    const before = await properties(target);
    const r = await runCli(['restore', 'postgres', '--env', 'ci', '--from', key, '--target-db', target], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await fingerprint(target), await fingerprint(source), 'the data was not restored');
    assert.equal(await properties(target), before);
    assert.equal(
      await psql('postgres', `SELECT count(*) FROM pg_database WHERE datname LIKE '${target}\\_\\_igb%'`),
      '0',
    );
  });

  it('a session of a superuser on the target, restoring as a role that may not end it: exit 2 before anything, the session lives', async () => {
    const target = await makeDatabase(ident('igb_busy'), 7);
    databases.push(target);
    await psql('postgres', `ALTER DATABASE "${target}" OWNER TO ${weak}`);
    const session = execa(
      'psql',
      ['-X', '-h', pg.host, '-p', String(pg.port), '-U', 'postgres', '-d', target, '-c', 'SELECT pg_sleep(30)'],
      { env: { PGPASSWORD: pg.password }, reject: false },
    );
    for (
      let i = 0;
      i < 100 && (await psql('postgres', `SELECT count(*) FROM pg_stat_activity WHERE datname = '${target}'`)) === '0';
      i++
    )
      await sleep(50);
    const r = await runCli(['restore', 'postgres', '--env', 'ci', '--from', key, '--target-db', target, '--no-owner'], {
      cwd: weakDir,
      env: { WEAK_PW: PW },
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /sessions of "postgres" are connected to .* and role ".*" may not end them/);
    assert.equal(
      await psql('postgres', `SELECT count(*) FROM pg_stat_activity WHERE datname = '${target}'`),
      '1',
      'the session was ended',
    );
    session.kill();
    await session;
  });
});
