// `npm run demo`: a throwaway PostgreSQL, a backup into a local file store, a restore into a scratch database,
// row counts and checksums compared, everything cleaned up. Runs the real igbackup CLI as an operator would.

import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { freePort } from '../src/app/ports.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'igbackup');
const PG_SCRIPT = join(ROOT, 'scripts', 'services', 'postgres.sh');
const keep = process.argv.includes('--keep');

function say(text: string): void {
  process.stdout.write(`\n== ${text}\n`);
}

/** The demo's igbackup.yaml: a local file store and the throwaway PostgreSQL (password by reference). */
function demoConfig(port: number): string {
  return [
    'envs:',
    '  demo:',
    '    storage: { type: file, path: ./backups }',
    '    postgres:',
    `      host: 127.0.0.1`,
    `      port: ${port}`,
    '      user: postgres',
    '      password: { env: IGBACKUP_DEMO_PGPASSWORD }',
    '      databases: [shop]',
    '',
  ].join('\n');
}

type Psql = (db: string, sql: string) => Promise<string>;

/** psql against the throwaway server: runs sql in db, returns its unaligned output. */
function psqlOn(port: number, env: NodeJS.ProcessEnv): Psql {
  const args = [
    '-X',
    '-q',
    '-A',
    '-t',
    '-v',
    'ON_ERROR_STOP=1',
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-U',
    'postgres',
  ];
  return (db, sql) => execa('psql', [...args, '-d', db], { input: sql, env }).then((r) => r.stdout.trim());
}

/** Creates database "shop" with 20,000 customers and 50,000 orders. */
async function fillShop(psql: Psql): Promise<void> {
  await psql('postgres', 'CREATE DATABASE shop;');
  await psql(
    'shop',
    `CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL, note text);
     INSERT INTO customers SELECT g, md5(g::text) || '@example.com', md5((g*7)::text) FROM generate_series(1, 20000) g;
     CREATE TABLE orders (id bigserial PRIMARY KEY, customer int REFERENCES customers(id), total numeric(12,2));
     INSERT INTO orders (customer, total) SELECT 1 + g % 20000, (g * 13 % 10000) / 100.0 FROM generate_series(1, 50000) g;`,
  );
}

/** Compares row counts and a checksum of the orders between "shop" and "shop_restored"; throws when they differ. */
async function compareRestored(psql: Psql): Promise<void> {
  const check = `SELECT (SELECT count(*) FROM customers) || ' customers, ' || (SELECT count(*) FROM orders) || ' orders, md5 '
    || (SELECT md5(string_agg(o::text, ',' ORDER BY id)) FROM orders o);`;
  const source = await psql('shop', check);
  const restored = await psql('shop_restored', check);
  process.stdout.write(`  source:   ${source}\n  restored: ${restored}\n`);
  if (source !== restored) throw new Error('restored database differs from the source');
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'igbackup-demo-'));
  await chmod(dir, 0o755); // the server runs as the postgres user when the demo runs as root
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const env = {
    ...process.env,
    IGBACKUP_DEMO_PGPASSWORD: password,
    PGPASSWORD: password,
    NO_COLOR: process.env.NO_COLOR ?? '',
  };
  const psql = psqlOn(port, env);
  const igbackup = (...args: string[]) => execa('node', [BIN, ...args], { cwd: dir, env, stdio: 'inherit' });
  try {
    say(`starting a throwaway PostgreSQL on 127.0.0.1:${port} in ${dir}`);
    await execa('bash', [PG_SCRIPT, 'start', join(dir, 'pg'), String(port), password], { stdio: 'inherit' });

    say('filling database "shop" with customers and orders');
    await fillShop(psql);

    await writeFile(join(dir, 'igbackup.yaml'), demoConfig(port));

    say('igbackup backup postgres --env demo');
    await igbackup('backup', 'postgres', '--env', 'demo');
    say('igbackup list --env demo');
    await igbackup('list', '--env', 'demo');
    say('igbackup restore postgres --env demo --latest --target-db shop_restored');
    await igbackup('restore', 'postgres', '--env', 'demo', '--latest', '--target-db', 'shop_restored');

    say('comparing source and restored database');
    await compareRestored(psql);
    say('demo passed: the backup restored to identical contents');
  } finally {
    await cleanUp(dir);
  }
}

/** Stops the server and removes the temp directory, or with --keep says how to do it by hand. */
async function cleanUp(dir: string): Promise<void> {
  if (keep) process.stdout.write(`\n(kept ${dir}; stop the server with: bash ${PG_SCRIPT} stop ${join(dir, 'pg')})\n`);
  else {
    await execa('bash', [PG_SCRIPT, 'stop', join(dir, 'pg')], { reject: false });
    await rm(dir, { recursive: true, force: true });
    process.stdout.write('\ncleaned up: server stopped, temp directory removed\n');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
