// Point-in-time recovery end to end: a PostgreSQL 15 cluster of its own, the real pgBackRest 2.45 and the test S3 over
// HTTPS with SSE-KMS. pitr enable (refusals first: a needed restart, another archiver), physical backups, restores to a
// time and to the end of the archive into a new directory, with the rows compared.

import assert from 'node:assert/strict';
import { chmod, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { parseJson, runCli, tempDir, writeConfig } from '../helpers/cli.js';
import { PGBIN, RUN_AS, pitrConfig, pitrEnv, startCluster, type PitrCluster } from '../helpers/pitr.js';
import { makeBucket, s3, s3Client } from '../helpers/servers.js';

describe('pitr through pgBackRest (real PostgreSQL, pgBackRest and S3 over TLS)', () => {
  let dir: string;
  let bucket: string;
  let c: PitrCluster;
  const cli = (args: string[]) => runCli(args, { cwd: dir, env: pitrEnv(c) });

  before(async () => {
    dir = await tempDir('igb-pitr-');
    await chmod(dir, 0o755); // the cluster's owner (postgres) reaches its directory through it
    bucket = await makeBucket();
    c = await startCluster(join(dir, 'pg'));
    await writeConfig(dir, pitrConfig(bucket, c, { archiveTimeoutSec: 5 }));
  });
  after(async () => {
    await c?.stop();
  });

  it('enable: archive_mode off is refused without --restart, and nothing changes', async () => {
    const r = await cli(['pitr', 'enable', '--env', 'prod']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /archive_mode must change, which needs a restart of PostgreSQL/);
    assert.match(r.stderr, /--restart/);
    assert.equal(await c.sql('SHOW archive_mode'), 'off');
    assert.equal(await c.sql('SHOW archive_command'), '(disabled)');
  });

  it('enable --restart: conf mode 600, stanza, archiving proven by check; again: nothing to change', async () => {
    const r = await cli(['--json', 'pitr', 'enable', '--env', 'prod', '--restart']);
    assert.equal(r.code, 0, r.stderr);
    const j = parseJson<{ changed: string[]; restarted: boolean; checkMs: number; repository: string }>(r);
    assert.equal(j.restarted, true);
    assert.ok(j.changed.includes('archive_mode (restart)'));
    assert.equal(j.repository, `s3://${bucket}/pgbackrest/prod/main`);
    assert.equal(await c.sql('SHOW archive_mode'), 'on');
    assert.match(await c.sql('SHOW archive_command'), /pgbackrest --config=.* --stanza=main archive-push %p/);
    assert.equal(await c.sql('SHOW archive_timeout'), '5s');
    const conf = join(c.dir, 'pgbackrest', 'pgbackrest-prod-main.conf');
    assert.equal((await stat(conf)).mode & 0o777, 0o600, 'the conf holds the S3 keys: owner only');
    const text = await readFile(conf, 'utf8');
    assert.match(text, /repo1-s3-kms-key-id=/);
    assert.match(text, /repo1-storage-ca-file=.*s3-ca\.pem/);
    assert.ok(!r.stdout.includes(process.env.AWS_SECRET_ACCESS_KEY ?? '\0'), 'no secret in the output');
    // Every object pgBackRest wrote is encrypted with the env's KMS key.
    const objects = await s3Client().send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: 'pgbackrest/prod/main/' }),
    );
    assert.ok((objects.Contents ?? []).length > 0);
    for (const o of objects.Contents ?? []) {
      const h = await s3Client().send(new HeadObjectCommand({ Bucket: bucket, Key: o.Key }));
      assert.equal(h.ServerSideEncryption, 'aws:kms', o.Key);
      assert.equal(h.SSEKMSKeyId, s3.kmsKeyId, o.Key);
    }
    const again = await cli(['--json', 'pitr', 'enable', '--env', 'prod']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(parseJson<{ changed: string[] }>(again).changed, []);
  });

  it('enable never overrides another archiver (exit 2, archive_command untouched)', async () => {
    const ours = await c.sql('SHOW archive_command');
    await c.sql("ALTER SYSTEM SET archive_command = 'cp %p /somewhere/else/%f'");
    await c.sql('SELECT pg_reload_conf()');
    try {
      const r = await cli(['pitr', 'enable', '--env', 'prod']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /another tool already archives WAL on this server: archive_command = 'cp %p \/somewhere\/else\/%f'/,
      );
      assert.equal(await c.sql('SHOW archive_command'), 'cp %p /somewhere/else/%f');
    } finally {
      await c.sql(`ALTER SYSTEM SET archive_command = '${ours.replace(/'/g, "''")}'`);
      await c.sql('SELECT pg_reload_conf()');
    }
  });

  it('storage init gives the repository a lifecycle rule of its own: never archived to Glacier, versions expired', async () => {
    const init = await cli(['--json', 'storage', 'init', '--env', 'prod']);
    const items = parseJson<{ items: { item: string; status: string }[] }>(init).items;
    assert.equal(items.find((i) => i.item === 'pitr-lifecycle')?.status, 'applied', init.stdout);
    const check = await cli(['--json', 'storage', 'check', '--env', 'prod']);
    const audited = parseJson<{ items: { item: string; status: string }[] }>(check).items;
    assert.equal(audited.find((i) => i.item === 'pitr-lifecycle')?.status, 'ok');
    assert.equal(audited.find((i) => i.item === 'lifecycle')?.status, 'ok');
  });

  it('backup --physical: a full base backup, proven by the repository and listed beside the dumps', async () => {
    const r = await cli(['--json', 'backup', 'postgres', '--env', 'prod', '--physical', '--type', 'full']);
    assert.equal(r.code, 0, r.stderr);
    const j = parseJson<{ result: { backup: { label: string; type: string; error: boolean; bytes: number } } }>(r);
    assert.equal(j.result.backup.type, 'full');
    assert.match(j.result.backup.label, /^\d{8}-\d{6}F$/);
    assert.ok(j.result.backup.bytes > 1_000_000);
    const l = await cli(['--json', 'list', 'postgres', '--env', 'prod']);
    assert.equal(l.code, 0, l.stderr);
    const listed = parseJson<{ physical: { backups: { label: string }[] } }>(l).physical;
    assert.deepEqual(
      listed.backups.map((b) => b.label),
      [j.result.backup.label],
    );
    const text = await cli(['list', 'postgres', '--env', 'prod']);
    assert.match(text.stdout, /PostgreSQL base backups \(pgBackRest, s3:\/\/.*\/pgbackrest\/prod\/main\)/);
  });

  it('status: the RPO of a PITR cluster is the archiving lag; failing archiving is a breach (exit 6) until fixed', async () => {
    const ok = await cli(['--json', 'status', '--env', 'prod']);
    assert.equal(ok.code, 0, ok.stderr);
    const s = parseJson<{
      rows: { engine: string; rpoSeconds: number; reason: string }[];
      pitr: { lag: { state: string } };
    }>(ok);
    assert.equal(s.pitr.lag.state, 'ok');
    assert.equal(s.rows[0]?.rpoSeconds, 5, 'all closed segments archived: bounded by archive_timeout');
    assert.match(s.rows[0]?.reason ?? '', /^PITR \(ok\)/);
    const prom = await cli(['status', '--env', 'prod', '--format', 'prometheus']);
    assert.match(prom.stdout, /^igbackup_pitr_archive_lag_seconds\{env="prod",cluster="main"\} 5$/m);
    assert.match(prom.stdout, /^igbackup_pitr_archiving_ok\{env="prod",cluster="main"\} 1$/m);
    assert.match(prom.stdout, /^igbackup_pitr_base_backup_age_seconds\{env="prod",cluster="main"\} \d+$/m);
    const table = await cli(['status', '--env', 'prod']);
    assert.match(
      table.stdout,
      /PITR main → s3:\/\/.*\n {2}archiving: ok: .*\n {2}newest base backup: \d{8}-\d{6}F \(full\)/,
    );
    // Wrong repository credentials: archive-push fails, PostgreSQL keeps the segments and retries.
    const conf = join(c.dir, 'pgbackrest', 'pgbackrest-prod-main.conf');
    const good = await readFile(conf, 'utf8');
    await writeFile(conf, good.replace(/^repo1-s3-key-secret=.*$/m, 'repo1-s3-key-secret=wrong'));
    try {
      await c.sql('CREATE TABLE IF NOT EXISTS churn (x int)');
      for (let i = 0; i < 60; i++) {
        await c.sql('INSERT INTO churn VALUES (1)');
        await c.sql('SELECT pg_switch_wal()');
        if (Number(await c.sql('SELECT failed_count FROM pg_stat_archiver')) > 0) break;
        await new Promise((res) => setTimeout(res, 500));
      }
      const bad = await cli(['status', '--env', 'prod']);
      assert.equal(bad.code, 6, bad.stderr);
      assert.match(bad.stderr, /postgres\/postgres \(PITR: archiving fails: .* failed at/);
    } finally {
      await writeFile(conf, good);
    }
    const fixed = await cli(['pitr', 'enable', '--env', 'prod']);
    assert.equal(fixed.code, 0, fixed.stderr);
    await waitArchived(c);
    const again = await cli(['status', '--env', 'prod']);
    assert.equal(again.code, 0, again.stderr);
  });

  it('restore --physical --to: exactly the rows committed before the time, in a new directory; the source untouched', async () => {
    await c.sql(
      'CREATE TABLE IF NOT EXISTS pitr_rows (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())',
    );
    for (const id of [1, 2, 3]) {
      await c.sql(`INSERT INTO pitr_rows (id) VALUES (${id})`);
      await c.sql('SELECT pg_switch_wal()');
      await new Promise((res) => setTimeout(res, 1200));
    }
    const target = await c.sql(
      "SELECT to_char(((SELECT at FROM pitr_rows WHERE id = 2) + interval '500 ms') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')",
    );
    await c.sql('INSERT INTO pitr_rows (id) VALUES (4)');
    await c.sql('SELECT pg_switch_wal()');
    await waitArchived(c);
    const r = await cli(['--json', 'restore', 'postgres', '--env', 'prod', '--physical', '--to', target]);
    assert.equal(r.code, 0, r.stderr);
    const res = parseJson<{ result: { port: number; dataDir: string } }>(r).result;
    try {
      assert.equal(await c.sql("SELECT string_agg(id::text, ',' ORDER BY id) FROM pitr_rows", res.port), '1,2');
      assert.equal(await c.sql('SELECT pg_is_in_recovery()', res.port), 'f', 'promoted: it takes writes');
      assert.equal(await c.sql('SHOW archive_mode', res.port), 'off', 'the copy never archives into the repository');
      assert.equal(await c.sql('SELECT count(*) FROM pitr_rows'), '4', 'the source keeps every row');
      assert.equal(await c.sql('SHOW data_directory'), join(c.dir, 'data'));
    } finally {
      await stopCopy(res.dataDir);
    }
  });

  it('restore --physical: a spare port another process binds (not a PostgreSQL) is passed over for the next one', async () => {
    // A listener that answers no protocol: pg_isready finds nobody there, the copy's bind fails, igbackup moves on.
    const blocker = createServer((sock) => sock.destroy());
    // The first port after the cluster's this test can bind (another process may hold c.port + 1 already: then
    // igbackup passes over that one too).
    let blocked = 0;
    for (let p = c.port + 1; p <= c.port + 10 && !blocked; p++) {
      blocked = await new Promise<number>((res) => {
        blocker.once('error', () => res(0));
        blocker.listen(p, '127.0.0.1', () => res(p));
      });
    }
    assert.ok(blocked, 'a port to block');
    try {
      const r = await cli(['--json', 'restore', 'postgres', '--env', 'prod', '--physical', '--latest']);
      assert.equal(r.code, 0, r.stderr);
      const res = parseJson<{ result: { port: number; dataDir: string } }>(r).result;
      try {
        assert.ok(res.port > blocked, `port ${res.port}, blocked ${blocked}`);
        assert.match(
          r.stderr,
          new RegExp(`port ${blocked} was taken before the copy started: starting it on port \\d+`),
        );
        assert.equal(await c.sql('SELECT pg_is_in_recovery()', res.port), 'f');
      } finally {
        await stopCopy(res.dataDir);
      }
    } finally {
      blocker.close();
    }
  });

  it('restore --physical refuses what cannot work before anything runs', async () => {
    const future = await cli(['restore', 'postgres', '--env', 'prod', '--physical', '--to', '2999-01-01T00:00:00Z']);
    assert.equal(future.code, 2, future.stderr);
    assert.match(future.stderr, /in the future/);
    const noZone = await cli(['restore', 'postgres', '--env', 'prod', '--physical', '--to', '2026-11-27 10:00:00']);
    assert.equal(noZone.code, 2);
    assert.match(noZone.stderr, /no time zone/);
    const both = await cli(['restore', 'postgres', '--env', 'prod', '--physical']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /exactly one of --to TIME or --latest/);
    const early = await cli(['restore', 'postgres', '--env', 'prod', '--physical', '--to', '2020-01-01T00:00:00Z']);
    assert.equal(early.code, 2);
    assert.match(early.stderr, /no base backup of main finished before 2020-01-01/);
    const own = await cli([
      'restore',
      'postgres',
      '--env',
      'prod',
      '--physical',
      '--latest',
      '--target-dir',
      join(c.dir, 'data'),
    ]);
    assert.equal(own.code, 2);
    assert.match(own.stderr, /is the cluster's data directory or inside or around it/);
    const inside = await cli([
      'restore',
      'postgres',
      '--env',
      'prod',
      '--physical',
      '--latest',
      '--target-dir',
      join(c.dir, 'data', 'restored'),
    ]);
    assert.equal(inside.code, 2, 'a copy inside the data directory would be backed up with it');
    const exists = await cli(['restore', 'postgres', '--env', 'prod', '--physical', '--latest', '--target-dir', c.dir]);
    assert.equal(exists.code, 2);
    assert.match(exists.stderr, /already exists|inside or around it/);
    const busy = await cli([
      'restore',
      'postgres',
      '--env',
      'prod',
      '--physical',
      '--latest',
      '--port',
      String(c.port),
    ]);
    assert.equal(busy.code, 2);
    assert.match(busy.stderr, new RegExp(`--port ${c.port} is in use`));
    const feb30 = await cli(['restore', 'postgres', '--env', 'prod', '--physical', '--to', '2026-02-30T10:00:00Z']);
    assert.equal(feb30.code, 2);
    assert.match(feb30.stderr, /not a real date and time/);
    const dateOnly = await cli(['restore', 'postgres', '--env', 'prod', '--physical', '--to', '2026-11-27']);
    assert.equal(dateOnly.code, 2);
    const flag = await cli(['restore', 'postgres', '--env', 'prod', '--physical', '--latest', '--target-db', 'x']);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /--target-db \(not with --physical\)/);
    const redis = await cli(['backup', 'redis', '--env', 'prod', '--physical']);
    assert.equal(redis.code, 2);
    assert.match(redis.stderr, /--physical applies to postgres only/);
  });

  it('drill --physical: a throwaway copy, the smoke tests, the RTO and the RPO achieved by the heartbeat; torn down', async () => {
    const beat = await cli(['--json', 'pitr', 'heartbeat', '--env', 'prod']);
    assert.equal(beat.code, 0, beat.stderr);
    await c.sql('SELECT pg_switch_wal()');
    await waitArchived(c);
    const before = await readdir(c.dir);
    const r = await cli(['--json', 'drill', 'postgres', '--env', 'prod', '--physical']);
    assert.equal(r.code, 0, r.stderr);
    const rep = parseJson<{
      reports: {
        ok: boolean;
        achievedRpoSeconds: number;
        rtoSeconds: number;
        checks: { name: string; ok: boolean }[];
      }[];
    }>(r).reports[0];
    assert.ok(rep?.ok);
    assert.ok(
      (rep?.achievedRpoSeconds ?? 1e9) <= 300,
      `achieved RPO ${rep?.achievedRpoSeconds} s within the gold tier`,
    );
    assert.ok(rep?.checks.some((x) => x.name === 'achieved RPO' && x.ok));
    assert.deepEqual(await readdir(c.dir), before, 'the copy is removed');
    const cron = await tempDir('igb-pitr-cron-');
    const cfg = pitrConfig(bucket, c) as { envs: { prod: Record<string, unknown> } };
    cfg.envs.prod.schedule = {};
    await writeConfig(cron, cfg);
    const tab = await runCli(['schedule', 'crontab', '--env', 'prod'], { cwd: cron });
    assert.equal(tab.code, 0, tab.stderr);
    assert.match(
      tab.stdout,
      /^0 1 \* \* 0 flock .*igbackup-prod-pg-full\.lock.* backup postgres --env prod --physical --type full/m,
    );
    assert.match(tab.stdout, /^0 1 \* \* 1-6 flock .* --physical --type diff/m);
    assert.match(tab.stdout, /^\* \* \* \* \* flock .*igbackup-prod-pg-beat\.lock.* pitr heartbeat --env prod/m);
  });

  it('kill -9 of the server after writes: restore --latest loses no more than archive_timeout plus a margin', async () => {
    await c.sql('CREATE TABLE IF NOT EXISTS beats (at timestamptz PRIMARY KEY DEFAULT clock_timestamp())');
    const until = Date.now() + 12_000;
    while (Date.now() < until) {
      await c.sql('INSERT INTO beats DEFAULT VALUES');
      await new Promise((res) => setTimeout(res, 250));
    }
    const lastWrite = Date.parse(
      await c.sql('SELECT to_char(max(at) AT TIME ZONE \'UTC\', \'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\') FROM beats'),
    );
    const pid = Number((await readFile(join(c.dir, 'data', 'postmaster.pid'), 'utf8')).split('\n')[0]);
    process.kill(pid, 'SIGKILL');
    const r = await cli(['--json', 'restore', 'postgres', '--env', 'prod', '--physical', '--latest']);
    assert.equal(r.code, 0, r.stderr);
    const res = parseJson<{ result: { port: number; dataDir: string } }>(r).result;
    try {
      const newest = Date.parse(
        await c.sql(
          'SELECT to_char(max(at) AT TIME ZONE \'UTC\', \'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\') FROM beats',
          res.port,
        ),
      );
      const lostMs = lastWrite - newest;
      // archive_timeout is 5 s here: the open segment is switched at least that often, and pushed asynchronously.
      assert.ok(lostMs <= 15_000, `lost ${lostMs} ms of writes (archive_timeout 5 s + margin)`);
    } finally {
      await stopCopy(res.dataDir);
    }
  });

  it('restore --in-place in a protected env without --yes: exit 5, nothing touched', async () => {
    const before = await readdir(c.dir);
    const r = await cli(['restore', 'postgres', '--env', 'prod', '--physical', '--in-place', '--latest']);
    assert.equal(r.code, 5, r.stderr);
    assert.match(r.stderr, /protected: refusing to replace the data directory of main without --yes/);
    assert.deepEqual(await readdir(c.dir), before);
  });

  it('restore --in-place whose start fails: the old data directory is put back and the old server started', async () => {
    // The server was killed above: this is the recovery of a crashed cluster. The start fails once.
    const marker = join(c.dir, 'start-failed-once');
    const pgCtl = `${join(PGBIN, 'pg_ctl')} -D ${join(c.dir, 'data')} -l ${join(c.dir, 'start.log')} -w -t 120 start`;
    // The first start starts the restored server and then fails (as a start command that fails after the launch).
    const start = [
      ...RUN_AS,
      'sh',
      '-c',
      `if [ -f ${marker} ]; then exec ${pgCtl}; else touch ${marker}; ${pgCtl}; sleep 3; exit 1; fi`,
    ];
    const histories = async () =>
      (
        (
          await s3Client().send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: 'pgbackrest/prod/main/archive/main/' }),
          )
        ).Contents ?? []
      )
        .map((o) => o.Key ?? '')
        .filter((k) => k.endsWith('.history'));
    const before = await histories();
    const dir2 = await tempDir('igb-pitr2-');
    await writeConfig(dir2, pitrConfig(bucket, c, { archiveTimeoutSec: 5, start }));
    const r = await runCli(['restore', 'postgres', '--env', 'prod', '--physical', '--in-place', '--latest', '--yes'], {
      cwd: dir2,
      env: pitrEnv(c),
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /put .*\/data back: ok/);
    assert.match(r.stderr, /leave PostgreSQL main on .* stopped, as it was found .*: ok/);
    await assert.rejects(c.sql('SELECT 1'), 'a cluster found stopped is left stopped');
    await execa(RUN_AS[0] ?? join(PGBIN, 'pg_ctl'), [
      ...RUN_AS.slice(1),
      ...(RUN_AS.length ? [join(PGBIN, 'pg_ctl')] : []),
      '-D',
      join(c.dir, 'data'),
      '-l',
      join(c.dir, 'start.log'),
      '-w',
      'start',
    ]);
    assert.ok((await c.sql('SELECT count(*) FROM beats')) !== '0', 'the old data directory is back, with its data');
    assert.deepEqual(
      (await readdir(c.dir)).filter((f) => f.includes('igbackup-before')),
      [],
      'nothing left aside',
    );
    assert.match(r.stderr, /the server this start had launched was stopped/);
    assert.deepEqual(await histories(), before, 'the abandoned timeline is not left in the repository');
  });

  it('restore --in-place --to: the cluster itself recovered to the time, the old data directory kept aside', async () => {
    const target = await c.sql('SELECT to_char(now() AT TIME ZONE \'UTC\', \'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\')');
    await new Promise((res) => setTimeout(res, 1100));
    await c.sql('INSERT INTO pitr_rows (id) VALUES (99)');
    await c.sql('SELECT pg_switch_wal()');
    await waitArchived(c);
    const r = await cli([
      '--json',
      'restore',
      'postgres',
      '--env',
      'prod',
      '--physical',
      '--in-place',
      '--to',
      target,
      '--yes',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const res = parseJson<{ result: { keptAside: string } }>(r).result;
    assert.equal(await c.sql('SELECT count(*) FROM pitr_rows WHERE id = 99'), '0', 'the row after the target is gone');
    assert.equal(await c.sql('SELECT count(*) FROM pitr_rows WHERE id < 5'), '4');
    assert.equal(await c.sql('SELECT pg_is_in_recovery()'), 'f');
    assert.ok(Number(await c.sql('SELECT timeline_id FROM pg_control_checkpoint()')) > 1, 'a new timeline');
    assert.ok((await stat(join(res.keptAside, 'PG_VERSION'))).isFile(), 'the old data directory is kept aside');
    await rm(res.keptAside, { recursive: true, force: true });
  });

  it('a WAL segment missing in the middle of the archive: restore --latest is exit 3, not a copy silently short', async () => {
    await c.sql('INSERT INTO pitr_rows (id) VALUES (200)');
    for (let i = 0; i < 3; i++) {
      await c.sql('INSERT INTO churn VALUES (2)');
      await c.sql('SELECT pg_switch_wal()');
    }
    await waitArchived(c);
    const listed = await s3Client().send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: 'pgbackrest/prod/main/archive/main/' }),
    );
    const segments = (listed.Contents ?? [])
      .map((o) => o.Key ?? '')
      .filter((k) => /\/[0-9A-F]{24}-[0-9a-f]{40}/.test(k))
      .sort();
    const gap = segments.at(-3);
    assert.ok(gap, 'a segment to remove');
    const kept = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: gap }));
    const body = Buffer.from(
      await (kept.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
    await s3Client().send(new DeleteObjectCommand({ Bucket: bucket, Key: gap }));
    const r = await cli(['restore', 'postgres', '--env', 'prod', '--physical', '--latest']);
    assert.equal(r.code, 3, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /recovery ended in WAL segment .* but the repository holds WAL up to/);
    assert.deepEqual(
      (await readdir(c.dir)).filter((f) => f.includes('.igbackup-')),
      [],
      'the short copy is removed',
    );
    // pgBackRest's own verify passes a missing segment (it checks the files that are there): igbackup's does not.
    const v = await cli(['verify', 'postgres', '--env', 'prod', '--physical']);
    assert.equal(v.code, 3, `${v.stdout}\n${v.stderr}`);
    const name = /([0-9A-F]{24})-/.exec(gap)?.[1] ?? '';
    assert.match(v.stderr, new RegExp(`misses 1 segment\\(s\\) between .*: ${name}; a restore`));
    await s3Client().send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: gap,
        Body: body,
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: s3.kmsKeyId,
      }),
    );
  });

  it('verify --physical: pgBackRest reads the repository back; a damaged backup file is exit 3 naming it', async () => {
    const ok = await cli(['--json', 'verify', 'postgres', '--env', 'prod', '--physical']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(parseJson<{ result: { backups: number } }>(ok).result.backups >= 1);
    const listed = await s3Client().send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: 'pgbackrest/prod/main/backup/main/' }),
    );
    const victim = (listed.Contents ?? []).find(
      (o) => /\/(bundle\/\d+|pg_data\/.+)$/.test(o.Key ?? '') && (o.Size ?? 0) > 100,
    );
    assert.ok(victim?.Key, 'a stored backup file to damage');
    const body = Buffer.alloc(victim.Size ?? 1000, 7);
    await s3Client().send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: victim.Key,
        Body: body,
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: s3.kmsKeyId,
      }),
    );
    const bad = await cli(['verify', 'postgres', '--env', 'prod', '--physical']);
    assert.equal(bad.code, 3, `${bad.stdout}\n${bad.stderr}`);
    assert.match(bad.stderr, /pgbackrest verify found damage in s3:\/\//);
  });

  it('a repository that lost its backup.info (and the copy): exit 3 naming the loss, never "enable first"', async () => {
    const keys = ['backup.info', 'backup.info.copy'].map((f) => `pgbackrest/prod/main/backup/main/${f}`);
    const kept: Buffer[] = [];
    for (const Key of keys) {
      const o = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key }));
      kept.push(Buffer.from(await (o.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray()));
      await s3Client().send(new DeleteObjectCommand({ Bucket: bucket, Key }));
    }
    try {
      for (const args of [
        ['restore', 'postgres', '--env', 'prod', '--physical', '--latest'],
        ['backup', 'postgres', '--env', 'prod', '--physical'],
      ]) {
        const r = await cli(args);
        assert.equal(r.code, 3, `${args.join(' ')}: ${r.stdout}\n${r.stderr}`);
        assert.match(r.stderr, /lost its stanza data for "main" \(pgBackRest: missing stanza data\)/);
        assert.doesNotMatch(r.stderr, /pitr enable/);
      }
    } finally {
      for (const [i, Key] of keys.entries()) {
        await s3Client().send(
          new PutObjectCommand({
            Bucket: bucket,
            Key,
            Body: kept[i],
            ServerSideEncryption: 'aws:kms',
            SSEKMSKeyId: s3.kmsKeyId,
          }),
        );
      }
    }
  });
});

/** Waits until every closed WAL segment is archived (pg_stat_archiver caught up with pg_switch_wal). */
async function waitArchived(c: PitrCluster): Promise<void> {
  for (let i = 0; i < 120; i++) {
    const pending = await c.sql(
      'SELECT last_archived_wal IS NOT NULL AND last_archived_wal >= pg_walfile_name(pg_current_wal_lsn() - 1) FROM pg_stat_archiver',
    );
    if (pending === 't') return;
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error('WAL was not archived within 60 s');
}

async function stopCopy(dataDir: string): Promise<void> {
  await execa(
    RUN_AS[0] ?? join(PGBIN, 'pg_ctl'),
    [
      ...RUN_AS.slice(1),
      ...(RUN_AS.length ? [join(PGBIN, 'pg_ctl')] : []),
      '-D',
      dataDir,
      '-m',
      'immediate',
      '-w',
      'stop',
    ],
    { reject: false },
  );
  await rm(dataDir, { recursive: true, force: true });
}
