// The generated schedules, run: every crontab line as cron would start it (sh -c, cron's bare environment, the env
// file), then every CronJob's container as its pod would (args, env, envFrom and the Secret's file mounts), each set
// all at the same moment, against the real PostgreSQL (three databases), Redis and S3; the store must then hold a
// complete backup of every database. Also: flock refuses an overlapping run of the same job with exit 7.

import assert from 'node:assert/strict';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { BIN, parseJson, pgSection, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { dropDatabase, makeBucket, makeDatabase, pg, s3Client, uniqueName } from '../helpers/servers.js';
import { startRedis, type RedisInstance } from '../helpers/redis.js';

const ENV = 'sched_run'; // not a DNS label: its jobs carry the name hash, as any such env's would
const REDIS_PASSWORD = 'redis-sched-secret';
const IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Every database's complete backups in the store, proven from the listing: manifest parsed, artifacts present with its sizes. */
async function completeBackups(bucket: string): Promise<Map<string, number>> {
  const s3 = s3Client();
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${ENV}/` }));
  const sizes = new Map((listed.Contents ?? []).map((o) => [o.Key ?? '', o.Size ?? -1]));
  assert.ok(!listed.IsTruncated);
  const counts = new Map<string, number>();
  for (const key of sizes.keys()) {
    if (!key.endsWith('.manifest.json')) continue;
    const body = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();
    const m = JSON.parse(body) as {
      env: string;
      engine: string;
      target: { database: string };
      artifacts: { key: string; bytes: number }[];
    };
    assert.equal(m.env, ENV);
    assert.ok(key.startsWith(`${ENV}/${m.engine}/`), key);
    for (const a of m.artifacts) assert.equal(sizes.get(a.key), a.bytes, `${a.key} of ${key}`);
    const id = `${m.engine}/${m.target.database}`;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** Runs a command part as cron does: sh -c, in the user's home, with cron's environment plus the crontab's assignments. */
function cronRun(command: string, home: string, assignments: Record<string, string>) {
  const env = { HOME: home, LOGNAME: userInfo().username, SHELL: '/bin/sh', PATH: '/usr/bin:/bin', ...assignments };
  return execa('sh', ['-c', command.replace(/\\%/g, '%')], {
    cwd: home,
    env,
    extendEnv: false,
    reject: false,
    timeout: 300_000,
  });
}

describe('generated schedules run at the same minute back up every database', () => {
  let dir: string;
  let bucket: string;
  let redis: RedisInstance;
  let dbs: string[];
  let pgpass: string;
  let crontab: string;
  const secretEnv = (): Record<string, string> => ({
    TEST_REDIS_PASSWORD: REDIS_PASSWORD,
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? '',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? '',
  });

  before(async () => {
    dir = await tempDir('igb-sched-');
    bucket = await makeBucket();
    dbs = await Promise.all(
      [uniqueName('igb_sched_a'), uniqueName("igb sched's b"), uniqueName('igb_sched_c')].map((n) =>
        makeDatabase(n, 500),
      ),
    );
    redis = await startRedis({ password: REDIS_PASSWORD });
    await redis.cli('SET', 'k', 'v');
    pgpass = join(dir, 'secrets', 'pg-password');
    await mkdir(join(dir, 'secrets'));
    await mkdir(join(dir, 'home'));
    await mkdir(join(dir, 'log'));
    await writeConfig(dir, {
      envs: {
        [ENV]: {
          storage: s3Storage(bucket),
          postgres: pgSection(dbs, { password: { file: pgpass } }),
          redis: { host: '127.0.0.1', port: redis.port, password: { env: 'TEST_REDIS_PASSWORD' } },
          schedule: {
            postgres: '*/15 * * * *',
            redis: '@hourly',
            configPath: join(dir, 'igbackup.yaml'),
            envFile: join(dir, 'igbackup.env'),
            logDir: join(dir, 'log'),
            lockDir: dir,
            bin: BIN,
            kubernetes: { image: 'registry.example/igbackup:1', targetNamespace: 'databases' },
          },
        },
      },
    });
  });

  after(async () => {
    await redis?.stop();
    for (const db of dbs ?? []) await dropDatabase(db);
  });

  it('crontab: every line started at once as cron would; none refused by a lock, each database backed up', async () => {
    const r = await runCli(['schedule', 'crontab', '--env', ENV], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    crontab = r.stdout;
    const assignments = Object.fromEntries(
      crontab
        .split('\n')
        .filter((l) => /^[A-Z]+=/.test(l))
        .map((l) => [l.split('=')[0], l.slice(l.indexOf('=') + 1)]),
    );
    const lines = crontab.split('\n').filter((l) => /^[0-9*@]/.test(l));
    assert.equal(lines.length, 2, crontab);
    await writeFile(pgpass, `${pg.password}\n`, { mode: 0o600 });
    await writeFile(
      join(dir, 'igbackup.env'),
      Object.entries(secretEnv())
        .map(([k, v]) => `${k}=${v}\n`)
        .join(''),
      { mode: 0o600 },
    );
    const commands = lines.map((l) =>
      l
        .split(' ')
        .slice(l.startsWith('@') ? 1 : 5)
        .join(' '),
    );
    const runs = await Promise.all(commands.map((c) => cronRun(c, join(dir, 'home'), assignments)));
    const logs = await Promise.all(lines.map((l) => readFile(/>> (\S+) 2>&1$/.exec(l)?.[1] ?? '', 'utf8')));
    assert.deepEqual(
      runs.map((x) => x.exitCode),
      [0, 0],
      logs.join('\n'),
    );
    const counts = await completeBackups(bucket);
    assert.deepEqual(
      Object.fromEntries(counts),
      Object.fromEntries([...dbs.map((d) => [`postgres/${d}`, 1]), ['redis/redis', 1]]),
    );
    const l = await runCli(['--json', 'list', '--env', ENV], {
      cwd: dir,
      env: { TEST_REDIS_PASSWORD: REDIS_PASSWORD },
    });
    assert.equal(l.code, 0, l.stderr);
    const listed = parseJson<{ backups: { engine: string; database: string }[] }>(l).backups.map(
      (b) => `${b.engine}/${b.database}`,
    );
    assert.deepEqual(listed.sort(), [...counts.keys()].sort());
  });

  it('k8s: every CronJob container run at once as its pod would (args, env, Secret env and file mounts); same proof', async () => {
    const k = await runCli(['--json', 'schedule', 'k8s', '--env', ENV], { cwd: dir });
    assert.equal(k.code, 0, k.stderr);
    const cronJobs = parseJson<{ objects: Record<string, any>[] }>(k).objects.filter((o) => o.kind === 'CronJob');
    assert.equal(cronJobs.length, 2);
    const secret: Record<string, string> = { ...secretEnv(), 'pg-password': `${pg.password}\n` };
    await rm(pgpass); // the pod has only what the CronJob mounts
    const runs = [];
    for (const cj of cronJobs) {
      const pod = cj.spec.jobTemplate.spec.template.spec;
      const c = pod.containers[0];
      for (const m of c.volumeMounts.filter((v: { subPath?: string }) => v.subPath)) {
        const vol = pod.volumes.find((v: { name: string }) => v.name === m.name).secret;
        assert.equal(vol.secretName, 'igbackup-secrets');
        assert.ok(vol.items.some((i: { key: string; path: string }) => i.key === m.subPath && i.path === m.subPath));
        await writeFile(m.mountPath, secret[m.subPath] ?? '', { mode: vol.defaultMode });
      }
      const env: Record<string, string> = { PATH: IMAGE_PATH, HOME: join(dir, 'home'), HOSTNAME: cj.metadata.name };
      for (const from of c.envFrom) if (from.secretRef.name === 'igbackup-secrets') Object.assign(env, secret);
      for (const e of c.env) env[e.name] = e.value;
      const args = (c.args as string[]).map((a) =>
        a === '/etc/igbackup/igbackup.yaml' ? join(dir, 'igbackup.yaml') : a,
      );
      runs.push({ name: cj.metadata.name as string, args, env });
    }
    assert.equal((await readFile(pgpass, 'utf8')).trim(), pg.password, 'the Postgres job mounts the password file');
    const results = await Promise.all(
      runs.map((p) =>
        execa(BIN, p.args, { env: p.env, extendEnv: false, cwd: join(dir, 'home'), reject: false, timeout: 300_000 }),
      ),
    );
    assert.deepEqual(
      results.map((x) => x.exitCode),
      [0, 0],
      results.map((x) => x.stderr).join('\n'),
    );
    const counts = await completeBackups(bucket);
    assert.deepEqual(
      Object.fromEntries(counts),
      Object.fromEntries([...dbs.map((d) => [`postgres/${d}`, 2]), ['redis/redis', 2]]),
    );
  });

  it('flock: a second start of the same line while the first runs exits 7 at once and runs nothing', async () => {
    await rm(pgpass);
    await writeFile(pgpass, `${pg.password}\n`, { mode: 0o600 });
    const line = crontab.split('\n').find((l) => l.includes('backup postgres')) ?? '';
    const lock = line.split(' ')[9] ?? '';
    assert.match(lock, /\.lock$/);
    const assignments = { PATH: '/usr/local/bin:/usr/bin:/bin' };
    const command = line.split(' ').slice(5).join(' ');
    const ino = (await stat(lock)).ino; // made by the earlier runs
    const first = cronRun(command, join(dir, 'home'), assignments);
    // Watch /proc/locks rather than probing with flock, which would take the lock itself for an instant.
    let held = false;
    for (let i = 0; i < 2000 && !held && first.exitCode === null; i++) {
      held = (await readFile('/proc/locks', 'utf8'))
        .split('\n')
        .some((l) => /\bFLOCK\b.*\bWRITE\b/.test(l) && l.includes(`:${ino} `));
      if (!held) await sleep(5);
    }
    assert.ok(held, `the first run took the lock (it exited ${String(first.exitCode)})`);
    const second = await cronRun(command, join(dir, 'home'), assignments);
    assert.equal(second.exitCode, 7);
    assert.equal((await first).exitCode, 0);
    const counts = await completeBackups(bucket);
    for (const d of dbs) assert.equal(counts.get(`postgres/${d}`), 3, `${d}: one more backup, from the first run only`);
  });
});
