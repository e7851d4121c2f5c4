// Point-in-time recovery over the SSH transport: pgBackRest runs on the database host as the user igbackup logs in as
// (the cluster's owner there), the config and the CA are written through the SSH channel's stdin, and a restore
// lands in a new directory on that host. Real sshd, PostgreSQL 15, pgBackRest 2.45 and S3 over TLS.

import assert from 'node:assert/strict';
import { chmod, chown, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { parseJson, runCli, tempDir, writeConfig } from '../helpers/cli.js';
import { PGBIN, pitrConfig } from '../helpers/pitr.js';
import { sshTransport } from '../helpers/redis-restore.js';
import { freePort } from '../helpers/redis.js';
import { makeBucket } from '../helpers/servers.js';

const SSH_USER = process.env.IGBACKUP_TEST_SSH_USER ?? 'igbssh';
const asUser = (argv: string[]) => (process.getuid?.() === 0 ? ['runuser', '-u', SSH_USER, '--', ...argv] : argv);

describe('pitr over SSH (pgBackRest on the database host)', () => {
  let dir: string;
  let pgDir: string;
  let port: number;
  const password = 'pitr-ssh-pw';
  const sql = async (statement: string, p = port) =>
    (
      await execa(
        join(PGBIN, 'psql'),
        ['-X', '-Atq', '-h', '127.0.0.1', '-p', String(p), '-U', 'postgres', '-c', statement],
        {
          env: { PGPASSWORD: password },
        },
      )
    ).stdout.trim();

  before(async () => {
    dir = await tempDir('igb-pitr-ssh-');
    await chmod(dir, 0o755);
    pgDir = join(dir, 'host');
    await mkdir(pgDir);
    const { uid, gid } = await stat(`/home/${SSH_USER}`);
    await chown(pgDir, uid, gid);
    port = await freePort();
    const pw = join(pgDir, '.pw');
    await writeFile(pw, `${password}\n`, { mode: 0o600 });
    await chown(pw, uid, gid);
    const initdb = asUser([
      join(PGBIN, 'initdb'),
      '-D',
      join(pgDir, 'data'),
      '-U',
      'postgres',
      `--pwfile=${pw}`,
      '--auth=scram-sha-256',
    ]);
    await execa(initdb[0] as string, initdb.slice(1));
    const conf = `listen_addresses = '127.0.0.1'\nport = ${port}\nunix_socket_directories = '${pgDir}'\nfsync = off\n`;
    await execa('sh', ['-c', `cat >> ${join(pgDir, 'data', 'postgresql.conf')}`], { input: conf });
    const start = asUser([join(PGBIN, 'pg_ctl'), '-D', join(pgDir, 'data'), '-l', join(pgDir, 'log'), '-w', 'start']);
    await execa(start[0] as string, start.slice(1));
    const bucket = await makeBucket();
    const cluster = { dir: pgDir, port, password, sql, stop: async () => undefined };
    const cfg = pitrConfig(bucket, cluster, {
      runAs: [],
      archiveTimeoutSec: 5,
      restart: [join(PGBIN, 'pg_ctl'), '-D', join(pgDir, 'data'), '-w', '-m', 'fast', 'restart'],
    }) as { envs: { prod: { postgres: Record<string, unknown> } } };
    cfg.envs.prod.postgres.transport = await sshTransport(dir);
    await writeConfig(dir, cfg);
  });
  after(async () => {
    const stop = asUser([join(PGBIN, 'pg_ctl'), '-D', join(pgDir, 'data'), '-m', 'immediate', 'stop']);
    await execa(stop[0] as string, stop.slice(1), { reject: false });
  });

  it('enable, a full base backup and a restore to the end of the archive, all through SSH', async () => {
    const env = { PITR_PG_PASSWORD: password };
    const enable = await runCli(['--json', 'pitr', 'enable', '--env', 'prod', '--restart'], { cwd: dir, env });
    assert.equal(enable.code, 0, enable.stderr);
    assert.equal(parseJson<{ restarted: boolean }>(enable).restarted, true);
    const conf = await stat(join(pgDir, 'pgbackrest', 'pgbackrest-prod-main.conf'));
    assert.equal(conf.mode & 0o777, 0o600);
    assert.equal(conf.uid, (await stat(`/home/${SSH_USER}`)).uid, 'written as the SSH user, the cluster owner');
    await sql('CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g');
    const b = await runCli(['backup', 'postgres', '--env', 'prod', '--physical', '--type', 'full'], { cwd: dir, env });
    assert.equal(b.code, 0, b.stderr);
    await sql('INSERT INTO t VALUES (1001)');
    await sql('SELECT pg_switch_wal()');
    await new Promise((res) => setTimeout(res, 3000));
    const r = await runCli(['--json', 'restore', 'postgres', '--env', 'prod', '--physical', '--latest'], {
      cwd: dir,
      env,
    });
    assert.equal(r.code, 0, r.stderr);
    const res = parseJson<{ result: { port: number; dataDir: string } }>(r).result;
    try {
      assert.equal(await sql('SELECT count(*) FROM t', res.port), '1001');
      assert.equal((await stat(res.dataDir)).uid, conf.uid, 'the copy belongs to the cluster owner');
    } finally {
      const stop = asUser([join(PGBIN, 'pg_ctl'), '-D', res.dataDir, '-m', 'immediate', 'stop']);
      await execa(stop[0] as string, stop.slice(1), { reject: false });
    }
  });
});
