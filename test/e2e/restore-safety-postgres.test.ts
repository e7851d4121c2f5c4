// A PostgreSQL restore never makes things worse (real PostgreSQL 15 + radosgw): --with-globals keeps roles that
// exist, and the preflight refuses (exit 2) a role or server that could not finish, before any artifact is downloaded.

import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { AppContext } from '../../src/app/context.js';
import { applyGlobals } from '../../src/app/postgres/restore-globals.js';
import { parseRestoreFacts } from '../../src/app/postgres/restore-preflight.js';
import { planGlobals, type TargetGlobals } from '../../src/engines/postgres/globals.js';
import { sql as pgSql } from '../../src/engines/postgres/commands.js';
import { LocalTransport } from '../../src/transports/local.js';
import { parseJson, pgSection, runCli, s3Storage, tempDir, writeConfig, type CliResult } from '../helpers/cli.js';
import {
  dropDatabase,
  dropRoles,
  fingerprint,
  makeBigDatabase,
  makeBucket,
  makeDatabase,
  pg,
  psql,
  roleState,
  s3,
  s3Client,
  uniqueName,
} from '../helpers/servers.js';
import { runWithSmallDisk } from '../helpers/small-disk.js';
import { StallProxy } from '../helpers/stall-proxy.js';

interface BackupJson {
  results: { key: string; manifestKey: string }[];
}
interface GlobalsJson {
  rolesCreated: string[];
  rolesKept: string[];
  rolesOverwritten: string[];
}

const WEAK_PW = 'weak-role-pw-4711';
const ident = (p: string): string => uniqueName(p).replace(/-/g, '_');

describe('postgres restore safety: globals keep what exists, preflight before any download', () => {
  let dir: string;
  let bucket: string;
  let db: string;
  let big: string;
  let proxy: StallProxy;
  let key: string;
  let globalsKey: string;
  const weak = ident('igb_weak');
  const roles: string[] = [weak];
  const databases: string[] = [];

  /** staging restores as `user` (default: the superuser); both envs go through the proxy that records requests. */
  const config = (user?: string): Promise<string> =>
    writeConfig(dir, {
      envs: {
        staging: {
          storage: s3Storage(bucket, { endpoint: proxy.endpoint }),
          postgres: pgSection([db], { globals: true, ...(user ? { user, password: { env: 'WEAK_PW' } } : {}) }),
        },
        big: { storage: s3Storage(bucket, { endpoint: proxy.endpoint }), postgres: pgSection([big]) },
      },
    });

  /** Runs the CLI and returns it with the object GETs it made for these artifact keys (not manifests or listings). */
  async function run(args: string[], keys: string[], smallTmp?: string): Promise<CliResult & { gets: string[] }> {
    const from = proxy.seen.length;
    const r = smallTmp
      ? await runWithSmallDisk(smallTmp, 1024, args, dir)
      : await runCli(args, { cwd: dir, env: { WEAK_PW } });
    const gets = proxy.seen
      .slice(from)
      .filter((l) => keys.some((k) => l === `GET /${bucket}/${k}` || l.startsWith(`GET /${bucket}/${k}?`)));
    return { ...r, gets };
  }

  async function backup(env: string): Promise<{ key: string; globalsKey: string | undefined }> {
    await config();
    const b = await runCli(['--json', 'backup', 'postgres', '--env', env], { cwd: dir });
    assert.equal(b.code, 0, b.stderr);
    const r = parseJson<BackupJson>(b).results[0]!;
    const body = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: r.manifestKey }));
    const m = JSON.parse(await body.Body!.transformToString()) as { artifacts: { role: string; key: string }[] };
    return { key: r.key, globalsKey: m.artifacts.find((a) => a.role === 'globals')?.key };
  }

  const scratchLeft = async (name: string): Promise<string> =>
    psql('postgres', `SELECT string_agg(datname, ',') FROM pg_database WHERE datname LIKE '${name}%'`);

  before(async () => {
    dir = await tempDir();
    bucket = await makeBucket();
    db = await makeDatabase(ident('igb_safe'), 500);
    big = await makeBigDatabase('igb_space', 60_000);
    databases.push(db, big);
    proxy = await StallProxy.start(s3.endpoint, []);
    await psql('postgres', `CREATE ROLE ${weak} LOGIN PASSWORD '${WEAK_PW}' NOCREATEDB NOCREATEROLE;`);
  });

  after(async () => {
    await proxy.close();
    for (const d of databases) await dropDatabase(d);
    await dropRoles(roles.reverse());
  });

  it('--with-globals keeps existing roles exactly (rotated password, CREATEDB granted later) and creates the missing ones; --overwrite-roles re-applies', async () => {
    const [a, g, b] = [ident('igb_keep'), ident('igb_grp'), ident('igb_only')];
    roles.push(b, a, g);
    await psql(
      'postgres',
      `CREATE ROLE ${g} NOLOGIN;
       CREATE ROLE ${a} LOGIN PASSWORD 'pw-at-backup' NOCREATEDB CONNECTION LIMIT 5; ALTER ROLE ${a} SET work_mem = '4MB';
       COMMENT ON ROLE ${a} IS 'at backup'; GRANT ${g} TO ${a};
       CREATE ROLE ${b} LOGIN PASSWORD 'pw-only-in-backup' CREATEDB; ALTER ROLE ${b} SET work_mem = '3MB'; GRANT ${g} TO ${b} WITH ADMIN OPTION;`,
    );
    const [aAtBackup, bAtBackup] = [await roleState(a), await roleState(b)];
    const first = await backup('staging');
    key = first.key;
    globalsKey = first.globalsKey ?? '';
    assert.ok(globalsKey, 'the backup carries globals');
    // After the backup: the password is rotated, CREATEDB granted, the rest changed too; b disappears.
    await psql(
      'postgres',
      `ALTER ROLE ${a} PASSWORD 'pw-rotated' CREATEDB CONNECTION LIMIT 7; ALTER ROLE ${a} RESET work_mem;
       COMMENT ON ROLE ${a} IS 'rotated'; REVOKE ${g} FROM ${a}; DROP ROLE ${b};`,
    );
    const aNow = await roleState(a);
    assert.notEqual(aNow?.rolpassword, aAtBackup?.rolpassword);
    assert.equal(aNow?.rolcreatedb, true);

    const t1 = ident('igb_glob');
    databases.push(t1);
    const r = await run(
      [
        '--json',
        'restore',
        'postgres',
        '--env',
        'staging',
        '--from',
        key,
        '--target-db',
        t1,
        '--with-globals',
        '--yes',
      ],
      [],
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await roleState(a), aNow, 'the existing role is exactly as it was before the restore');
    assert.deepEqual(
      await roleState(b),
      bAtBackup,
      'the role only in the backup is created with password, attributes, setting, membership',
    );
    const globals = parseJson<{ result: { globals: GlobalsJson } }>(r).result.globals;
    assert.ok(globals.rolesCreated.includes(b));
    roles.push(...globals.rolesCreated.filter((x) => !roles.includes(x))); // roles other tests dropped since the backup
    assert.ok(globals.rolesKept.includes(a) && globals.rolesKept.includes(g));
    assert.deepEqual(globals.rolesOverwritten, []);
    for (const s of [aAtBackup, aNow, bAtBackup])
      assert.ok(!`${r.stdout}${r.stderr}`.includes(String(s?.rolpassword)), 'a password hash in the output');

    const t2 = ident('igb_glob');
    databases.push(t2);
    const o = await run(
      [
        'restore',
        'postgres',
        '--env',
        'staging',
        '--from',
        key,
        '--target-db',
        t2,
        '--with-globals',
        '--overwrite-roles',
        '--yes',
      ],
      [],
    );
    assert.equal(o.code, 0, o.stderr);
    assert.deepEqual(await roleState(a), aAtBackup, '--overwrite-roles puts the backup definition back');
    assert.match(o.stdout, new RegExp(`roles overwritten from the backup: .*"${a}"`));
    assert.match(o.stdout, /roles kept as they were: .*"postgres"/, 'the connecting role is never overwritten');
    assert.ok(!`${o.stdout}${o.stderr}`.includes(String(aAtBackup?.rolpassword)));
  });

  it('a role without CREATEDB: exit 2 naming the fix, before any download, no scratch database', async () => {
    await config(weak);
    const target = ident('igb_new');
    const r = await run(
      ['restore', 'postgres', '--env', 'staging', '--from', key, '--target-db', target, '--with-globals', '--yes'],
      [key, globalsKey],
    );
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`role "${weak}" has no CREATEDB`));
    assert.match(r.stderr, new RegExp(`ALTER ROLE "${weak}" CREATEDB`));
    assert.match(r.stderr, /nothing was downloaded or changed/);
    assert.deepEqual(r.gets, [], 'no artifact was fetched');
    assert.equal(await scratchLeft(target), '');
  });

  it('a role that does not own the existing target: exit 2 before any download, target untouched; a member of the owner passes', async () => {
    await psql('postgres', `ALTER ROLE ${weak} CREATEDB;`);
    const before = await fingerprint(db);
    await psql(db, 'DELETE FROM orders WHERE id % 3 = 0;');
    const changed = await fingerprint(db);
    assert.notEqual(changed, before);
    const r = await run(['restore', 'postgres', '--env', 'staging', '--from', key, '--yes'], [key]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`role "${weak}" does not own database "${db}" \\(owner "postgres"\\)`));
    assert.match(r.stderr, new RegExp(`ALTER DATABASE "${db}" OWNER TO "${weak}"|--target-db`));
    assert.deepEqual(r.gets, []);
    assert.equal(await fingerprint(db), changed, 'target untouched');
    assert.equal(await scratchLeft(`${db}__igb_`), '');

    const owner = ident('igb_owner');
    roles.unshift(owner);
    await psql(
      'postgres',
      `CREATE ROLE ${owner} NOLOGIN; ALTER DATABASE "${db}" OWNER TO ${owner}; GRANT ${owner} TO ${weak};`,
    );
    const ok = await run(['restore', 'postgres', '--env', 'staging', '--from', key, '--no-owner', '--yes'], [key]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.gets.length, 1);
    assert.equal(await fingerprint(db), before, 'a member of the owner restores and swaps');
    await psql('postgres', `ALTER DATABASE "${db}" OWNER TO postgres;`);
  });

  it('a CONNECTION LIMIT below --jobs: exit 2 naming the limit and --jobs, before any download', async () => {
    await psql('postgres', `ALTER ROLE ${weak} CONNECTION LIMIT 1;`);
    try {
      const target = ident('igb_conn');
      const r = await run(
        ['restore', 'postgres', '--env', 'staging', '--from', key, '--target-db', target, '--jobs', '2', '--yes'],
        [key],
      );
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`role "${weak}" has CONNECTION LIMIT 1 .*pg_restore needs 2`));
      assert.match(r.stderr, /--jobs 1/);
      assert.deepEqual(r.gets, []);
      assert.equal(await scratchLeft(target), '');
    } finally {
      await psql('postgres', `ALTER ROLE ${weak} CONNECTION LIMIT -1;`);
    }
  });

  it('--with-globals with roles to create and no CREATEROLE: exit 2 after the small globals download, before the dump', async () => {
    const only = ident('igb_only2');
    roles.unshift(only);
    await psql('postgres', `CREATE ROLE ${only} NOLOGIN;`);
    const { key: k2, globalsKey: g2 } = await backup('staging');
    assert.ok(g2);
    await psql('postgres', `DROP ROLE ${only};`);
    await config(weak);
    const target = ident('igb_cr');
    const r = await run(
      ['restore', 'postgres', '--env', 'staging', '--from', k2, '--target-db', target, '--with-globals', '--yes'],
      [k2, g2],
    );
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`role "${weak}" has no CREATEROLE: --with-globals would create or change \\d+ role`),
    );
    assert.match(r.stderr, new RegExp(`ALTER ROLE "${weak}" CREATEROLE`));
    assert.deepEqual(
      r.gets.map((l) => l.split('?')[0]),
      [`GET /${bucket}/${g2}`],
      'the globals only, not the dump',
    );
    assert.equal(await roleState(only), null, 'no role created');
    assert.equal(await scratchLeft(target), '');
  });

  it('a temp dir too small for the dump: exit 2 naming the space and the ways out, before any download', async () => {
    const { key: bigKey } = await backup('big');
    const small = join(dir, 'small-tmp');
    await mkdir(small);
    // A real 1 MiB file system (tmpfs in a private mount namespace) as --tmp-dir: the compressed dump is about 2 MB.
    const target = ident('igb_space_t');
    const args = ['restore', 'postgres', '--env', 'big', '--from', bigKey, '--target-db', target, '--tmp-dir', small];
    const one = await run([...args, '--jobs', '1'], [bigKey], small);
    assert.equal(one.code, 2, one.stderr);
    assert.match(
      one.stderr,
      new RegExp(
        `not enough space in ${small} for the artifact as stored: [\\d.]+ [KM]iB needed, [\\d.]+ [KM]iB free; nothing was downloaded`,
      ),
    );
    assert.match(one.stderr, /point --tmp-dir at a directory with at least/);
    const two = await run([...args, '--jobs', '2'], [bigKey], small);
    assert.equal(two.code, 2, two.stderr);
    assert.match(two.stderr, /for the decompressed archive \(pg_restore --jobs 2 reads a seekable file\)/);
    assert.match(two.stderr, /restore with --jobs 1/);
    assert.deepEqual([...one.gets, ...two.gets], []);
    assert.equal(await scratchLeft(target), '');
  });
});

describe('applying a globals plan on the real server: roles all or nothing, tablespace failures reported, no password shown', () => {
  const warnings: string[] = [];
  const ctx = {
    reporter: { step: () => undefined, warn: (m: string) => warnings.push(m), progress: () => undefined },
  } as unknown as AppContext;
  const conn = { host: pg.host, port: pg.port, user: 'postgres', password: pg.password };
  const target = async (): Promise<TargetGlobals> => {
    const f = parseRestoreFacts(await psql('postgres', pgSql.restoreFacts('postgres')));
    return { roles: f.roles, tablespaces: f.tablespaces, databases: f.databases, user: f.user, superuser: f.superuser };
  };

  it('a failing statement rolls the whole role transaction back; the error carries no password', async () => {
    const [r1, r2] = [ident('igb_tx1'), ident('igb_tx2')];
    const secret = 'SCRAM-SHA-256$4096:c2VjcmV0LXNhbHQ=$not-a-real-hash-7f3a';
    const sql = `CREATE ROLE ${r1};\nALTER ROLE ${r1} WITH LOGIN PASSWORD '${secret}';\nCREATE ROLE ${r2};\nGRANT igb_no_such_role_x TO ${r2};\n`;
    const plan = planGlobals(sql, await target(), { overwriteRoles: false });
    assert.deepEqual(plan.created, [r1, r2]);
    const err = await applyGlobals(ctx, new LocalTransport(), conn, 'postgres', plan).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    assert.ok(err, 'applying must fail');
    assert.match(
      err.message,
      /applying the backup's roles failed, the transaction was rolled back \(no role changed\)/,
    );
    assert.match(err.message, /role "igb_no_such_role_x" does not exist/);
    assert.ok(!err.message.includes(secret) && !err.message.includes('not-a-real-hash'));
    assert.equal(await roleState(r1), null, 'the first role was not left behind');
    assert.equal(await roleState(r2), null);
  });

  it('a tablespace that cannot be created stops the restore with the server error, after the roles were applied', async () => {
    const [role, space] = [ident('igb_ts_owner'), ident('igb_ts')];
    const sql = `CREATE ROLE ${role};\nCREATE TABLESPACE ${space} OWNER ${role} LOCATION '/nonexistent/igb-${space}';\nCOMMENT ON TABLESPACE ${space} IS 'x';\n`;
    const plan = planGlobals(sql, await target(), { overwriteRoles: false });
    assert.deepEqual(
      plan.tablespaces.map((t) => t.name),
      [space],
    );
    try {
      const err = await applyGlobals(ctx, new LocalTransport(), conn, 'postgres', plan).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      assert.ok(err, 'applying must fail');
      assert.match(
        err.message,
        new RegExp(
          `creating tablespace "${space}" failed: .*directory "/nonexistent/igb-${space}" does not exist.*Roles were applied \\(created: "${role}"\\); tablespaces created before it: none; the database was not touched`,
          's',
        ),
      );
      assert.notEqual(await roleState(role), null);
      assert.equal(await psql('postgres', `SELECT count(*) FROM pg_tablespace WHERE spcname = '${space}'`), '0');
    } finally {
      await dropRoles([role]);
    }
  });
});
