// Test access to the real servers that scripts/test.sh started: RADOS Gateway (S3 + KMS) and PostgreSQL.

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { S3Client, CreateBucketCommand, ListMultipartUploadsCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { execa } from 'execa';

function need(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests with "npm test" (scripts/test.sh starts the servers)`);
  return v;
}

export const s3 = {
  get endpoint(): string {
    return need('IGBACKUP_TEST_S3_ENDPOINT');
  },
  get kmsKeyId(): string {
    return need('IGBACKUP_TEST_KMS_KEY_ID');
  },
  /** The same gateway over HTTPS (https://localhost:PORT), its certificate signed by the CA in caFile. */
  get tlsEndpoint(): string {
    return need('IGBACKUP_TEST_S3_TLS_ENDPOINT');
  },
  get caFile(): string {
    return need('IGBACKUP_TEST_S3_CA_FILE');
  },
};

export function s3Client(): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export async function makeBucket(): Promise<string> {
  const bucket = uniqueName('igb-test');
  await s3Client().send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

export async function listKeys(bucket: string, prefix = ''): Promise<string[]> {
  const r = await s3Client().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (r.Contents ?? []).map((o) => o.Key ?? '');
}

export async function pendingUploads(bucket: string): Promise<string[]> {
  const r = await s3Client().send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (r.Uploads ?? []).map((u) => u.Key ?? '');
}

export const pg = {
  host: '127.0.0.1',
  get port(): number {
    return Number(need('IGBACKUP_TEST_PG_PORT'));
  },
  get password(): string {
    return need('IGBACKUP_TEST_PG_PASSWORD');
  },
};

/** Runs SQL through the real psql as the test superuser and returns trimmed unaligned output. */
export async function psql(database: string, sql: string): Promise<string> {
  const r = await execa(
    'psql',
    [
      '-X',
      '-q',
      '-A',
      '-t',
      '-v',
      'ON_ERROR_STOP=1',
      '-h',
      pg.host,
      '-p',
      String(pg.port),
      '-U',
      'postgres',
      '-d',
      database,
    ],
    {
      input: sql,
      env: { PGPASSWORD: pg.password },
    },
  );
  return r.stdout.trim();
}

/** Creates a database with a few tables of realistic rows; returns its name. */
export async function makeDatabase(name: string, rows = 2000): Promise<string> {
  await psql('postgres', `CREATE DATABASE "${name.replace(/"/g, '""')}";`);
  await psql(
    name,
    `CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL, note text);
     INSERT INTO customers SELECT g, md5(g::text) || '@example.com', repeat(md5((g*7)::text), 3) FROM generate_series(1, ${rows}) g;
     CREATE TABLE orders (id bigserial PRIMARY KEY, customer int REFERENCES customers(id), total numeric(12,2), at timestamptz);
     INSERT INTO orders (customer, total, at) SELECT 1 + (g % ${rows}), (g * 13 % 10000) / 100.0, '2026-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, ${rows * 2}) g;
     CREATE INDEX ON orders (customer);`,
  );
  return name;
}

/** A content fingerprint of a database's test tables (row count + md5 of all rows in order). */
export async function fingerprint(database: string): Promise<string> {
  return psql(
    database,
    `SELECT (SELECT count(*) FROM customers) || ':' || (SELECT md5(string_agg(c::text, ',' ORDER BY id)) FROM customers c)
       || ':' || (SELECT count(*) FROM orders) || ':' || (SELECT md5(string_agg(o::text, ',' ORDER BY id)) FROM orders o);`,
  );
}

export async function dropDatabase(name: string): Promise<void> {
  await psql('postgres', `DROP DATABASE IF EXISTS "${name.replace(/"/g, '""')}" WITH (FORCE);`);
}

export const sshServer = {
  host: '127.0.0.1',
  get port(): number {
    return Number(need('IGBACKUP_TEST_SSH_PORT'));
  },
  get user(): string {
    return need('IGBACKUP_TEST_SSH_USER');
  },
  get key(): string {
    return need('IGBACKUP_TEST_SSH_KEY');
  },
  get hostPubFile(): string {
    return need('IGBACKUP_TEST_SSH_HOST_PUB');
  },
};

/** The SSH transport section for the test sshd, its host key trusted through `<dir>/known_hosts` (knownHostsFile). */
export function sshTransport(dir: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'ssh',
    host: sshServer.host,
    port: sshServer.port,
    user: sshServer.user,
    identityFile: sshServer.key,
    knownHosts: join(dir, 'known_hosts'),
    ...extra,
  };
}

/** Writes `<dir>/known_hosts` with the test sshd's host key. */
export async function knownHostsFile(dir: string): Promise<void> {
  const [type, b64] = (await readFile(sshServer.hostPubFile, 'utf8')).trim().split(/\s+/);
  await writeFile(join(dir, 'known_hosts'), `[${sshServer.host}]:${sshServer.port} ${type} ${b64}\n`);
}

/** A database with one table of `rows` md5 rows (about 70 bytes each), big enough to catch pg_dump mid-COPY. */
export async function makeBigDatabase(prefix: string, rows: number): Promise<string> {
  const name = uniqueName(prefix).replace(/-/g, '_');
  await psql('postgres', `CREATE DATABASE ${name}`);
  await psql(
    name,
    `CREATE TABLE blob AS SELECT g AS id, md5(g::text) || md5((g*3)::text) AS v FROM generate_series(1, ${rows}) g;`,
  );
  return name;
}

/** Polls until pg_dump is copying table data from `database`; returns its backend pid ('' if it never did). */
export async function waitForDumpCopy(database: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const pid = await psql(
      'postgres',
      `SELECT pid FROM pg_stat_activity WHERE application_name = 'pg_dump' AND datname = '${database}' AND query ILIKE 'COPY%'`,
    );
    if (pid) return pid;
    await new Promise((r) => setTimeout(r, 25));
  }
  return '';
}

/** The contract after a failed backup: no object at any key, no multipart upload left open. */
export async function assertNothingStored(bucket: string): Promise<void> {
  assert.deepEqual(await listKeys(bucket), [], 'objects left in the bucket');
  assert.deepEqual(await pendingUploads(bucket), [], 'multipart uploads left open');
}

/**
 * Everything a restore of globals could change about a role, read from pg_authid as the superuser: password hash,
 * attributes, connection limit, expiry, settings, comment and memberships. Null when the role does not exist.
 */
export async function roleState(role: string): Promise<Record<string, unknown> | null> {
  const out = await psql(
    'postgres',
    `SELECT row_to_json(x) FROM (SELECT a.rolpassword, a.rolsuper, a.rolinherit, a.rolcreaterole, a.rolcreatedb, a.rolcanlogin,
       a.rolreplication, a.rolbypassrls, a.rolconnlimit, a.rolvaliduntil,
       (SELECT setconfig FROM pg_db_role_setting WHERE setrole = a.oid AND setdatabase = 0) AS config,
       shobj_description(a.oid, 'pg_authid') AS comment,
       (SELECT coalesce(json_agg(json_build_object('role', g.rolname, 'admin', m.admin_option) ORDER BY g.rolname), '[]')
          FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = a.oid) AS member_of
     FROM pg_authid a WHERE a.rolname = '${role.replace(/'/g, "''")}') x;`,
  );
  return out ? (JSON.parse(out) as Record<string, unknown>) : null;
}

/** Drops roles (those that exist), reassigning nothing: the tests' roles own no objects by then. */
export async function dropRoles(roles: string[]): Promise<void> {
  for (const r of roles) await psql('postgres', `DROP ROLE IF EXISTS "${r.replace(/"/g, '""')}";`);
}
