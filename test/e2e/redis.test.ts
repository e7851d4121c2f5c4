// Redis end to end on real redis-server 7 instances: backup, flush, restore, compare — locally, with AOF, BGSAVE,
// over SSH and kubectl — plus failures (killed redis-cli, truncated stream, a start that fails) and `redis check`.

import assert from 'node:assert/strict';
import { writeReadyPod } from '../helpers/kube.js';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { BIN, ROOT, parseJson, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { assertNothingStored, makeBucket, sshServer } from '../helpers/servers.js';
import { digest, fillRedis, startRedis, type RedisInstance } from '../helpers/redis.js';

const PASSWORD = 'redis-test-secret';

function redisSection(r: RedisInstance, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    host: '127.0.0.1',
    port: r.port,
    password: { env: 'TEST_REDIS_PASSWORD' },
    restore: { start: r.start, configFile: r.conf, loadTimeoutSec: 60 },
    ...extra,
  };
}

const env = { TEST_REDIS_PASSWORD: PASSWORD };

async function backupKey(
  dir: string,
  envName: string,
  extraArgs: string[] = [],
  extraEnv: Record<string, string> = {},
): Promise<string> {
  const b = await runCli(['--json', 'backup', 'redis', '--env', envName, ...extraArgs], {
    cwd: dir,
    env: { ...env, ...extraEnv },
  });
  assert.equal(b.code, 0, b.stderr);
  assert.ok(!b.stdout.includes(PASSWORD) && !b.stderr.includes(PASSWORD));
  return parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
}

describe('redis backup and restore', () => {
  let dir: string;
  let bucket: string;

  before(async () => {
    dir = await tempDir();
    bucket = await makeBucket();
  });

  it('rdb-stream: backup, FLUSHALL, restore gives the same dataset (password via REDISCLI_AUTH)', async () => {
    const r = await startRedis({ password: PASSWORD });
    await fillRedis(r, 1000);
    const before = await digest(r);
    const size = await r.cli('DBSIZE');
    await writeConfig(dir, { envs: { dev: { storage: s3Storage(bucket), redis: redisSection(r) } } });
    const key = await backupKey(dir, 'dev');
    assert.match(key, /^dev\/redis\/redis_\d{8}T\d{6}\.\d{3}Z\.rdb\.zst$/);
    await r.cli('FLUSHALL');
    const res = await runCli(['--json', 'restore', 'redis', '--env', 'dev', '--from', key], { cwd: dir, env });
    assert.equal(res.code, 0, res.stderr);
    const out = parseJson<{ result: { dbsize: number; keysInBackup: number } }>(res).result;
    assert.equal(String(out.dbsize), size);
    assert.equal(out.keysInBackup, Number(size));
    assert.equal(await digest(r), before);
    assert.equal(await r.cli('GET', 's:77'), 'value-77');
    await r.stop();
  });

  it('appendonly yes: restores every key (Redis would otherwise load the AOF and come up empty), AOF back on', async () => {
    const r = await startRedis({ appendonly: true, password: PASSWORD });
    await fillRedis(r, 800);
    const before = await digest(r);
    await writeConfig(dir, { envs: { dev: { storage: s3Storage(bucket), redis: redisSection(r) } } });
    const key = await backupKey(dir, 'dev');
    await r.cli('FLUSHALL');
    await r.cli('SET', 'written-after-backup', 'x');
    const res = await runCli(['restore', 'redis', '--env', 'dev', '--from', key], { cwd: dir, env });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(await digest(r), before);
    assert.equal(await r.cli('CONFIG', 'GET', 'appendonly'), 'appendonly\nyes');
    assert.match(await readFile(r.conf, 'utf8'), /^appendonly yes$/m, 'the original config file was not put back');
    // A restart now loads the rewritten AOF: the data must survive it.
    await r.cli('SHUTDOWN');
    await execa(r.start[0] as string, r.start.slice(1));
    for (let i = 0; i < 100 && (await r.cli('PING').catch(() => '')) !== 'PONG'; i++) await sleep(50);
    await sleep(200);
    assert.equal(await digest(r), before);
    await r.stop();
  });

  it('bgsave mode: BGSAVE, wait for LASTSAVE, stream dump.rdb; restores', async () => {
    const r = await startRedis({ password: PASSWORD });
    await fillRedis(r, 300);
    const before = await digest(r);
    await writeConfig(dir, {
      envs: { dev: { storage: s3Storage(bucket), redis: redisSection(r, { mode: 'bgsave' }) } },
    });
    const key = await backupKey(dir, 'dev');
    await r.cli('FLUSHALL');
    const res = await runCli(['restore', 'redis', '--env', 'dev', '--latest'], { cwd: dir, env });
    assert.equal(res.code, 0, res.stderr);
    assert.ok(res.stderr.includes(key) || res.stdout.includes(key));
    assert.equal(await digest(r), before);
    await r.stop();
  });

  it('a start that fails during restore: Redis is brought back with its previous data, exit 1, recovery reported', async () => {
    const r = await startRedis({ password: PASSWORD });
    await fillRedis(r, 50);
    await writeConfig(dir, { envs: { dev: { storage: s3Storage(bucket), redis: redisSection(r) } } });
    const key = await backupKey(dir, 'dev');
    await r.cli('FLUSHALL');
    await r.cli('SET', 'current', 'data');
    await r.cli('SAVE');
    const marker = join(dir, `fail-once-${r.port}`);
    const flaky = [join(ROOT, 'test', 'fixtures', 'bin', 'fail-once'), marker, ...r.start];
    await writeConfig(dir, {
      envs: {
        dev: { storage: s3Storage(bucket), redis: redisSection(r, { restore: { start: flaky, loadTimeoutSec: 30 } }) },
      },
    });
    const res = await runCli(['restore', 'redis', '--env', 'dev', '--from', key], { cwd: dir, env });
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /injected failure/);
    assert.match(
      res.stderr,
      /recovery: .*put the previous dump\.rdb back: ok; start Redis again with the previous dump\.rdb .*: ok/,
    );
    assert.equal(await r.cli('PING'), 'PONG', 'Redis was left stopped');
    assert.equal(await r.cli('GET', 'current'), 'data');
    await r.stop();
  });

  it('redis-cli killed while streaming: exit non-zero, nothing stored', async () => {
    const r = await startRedis({ password: PASSWORD, syncDelay: 5 });
    await fillRedis(r, 100);
    const b2 = await makeBucket();
    await writeConfig(dir, { envs: { dev: { storage: s3Storage(b2), redis: redisSection(r) } } });
    const child = execa('node', [BIN, 'backup', 'redis', '--env', 'dev'], {
      cwd: dir,
      env: { ...env, NO_COLOR: '1' },
      reject: false,
    });
    let killed = false;
    for (let i = 0; i < 200 && !killed; i++) {
      killed =
        (
          await execa('pkill', ['-KILL', '-f', `redis-cli -h 127.0.0.1 -p ${r.port} --no-auth-warning --rdb`], {
            reject: false,
          })
        ).exitCode === 0;
      if (!killed) await sleep(25);
    }
    assert.ok(killed, 'redis-cli --rdb never ran');
    const res = await child;
    assert.notEqual(res.exitCode, 0);
    assert.match(String(res.stderr), /redis-cli was killed by SIGKILL/);
    await assertNothingStored(b2);
    await r.stop();
  });

  it('redis check reports persistence settings and exits 6 on drift', async () => {
    const r = await startRedis({ password: PASSWORD });
    await writeConfig(dir, {
      envs: {
        dev: {
          storage: s3Storage(bucket),
          redis: redisSection(r, { expect: { save: '3600 1 300 100 60 10000', appendonly: false } }),
        },
      },
    });
    const ok = await runCli(['--json', 'redis', 'check', '--env', 'dev'], { cwd: dir, env });
    assert.equal(ok.code, 0, ok.stderr);
    const rows = parseJson<{ rows: { item: string; status: string }[] }>(ok).rows;
    assert.deepEqual(
      rows.filter((x) => x.item === 'save' || x.item === 'appendonly').map((x) => x.status),
      ['ok', 'ok'],
    );
    assert.ok(rows.some((x) => x.item === 'vm.overcommit_memory'));
    await writeConfig(dir, {
      envs: {
        dev: { storage: s3Storage(bucket), redis: redisSection(r, { expect: { save: '900 1', appendonly: true } }) },
      },
    });
    const drift = await runCli(['redis', 'check', '--env', 'dev'], { cwd: dir, env });
    assert.equal(drift.code, 6, drift.stderr);
    assert.match(drift.stdout, /save\s+3600 1 300 100 60 10000\s+900 1\s+drift/);
    await r.stop();
  });
});

describe('redis over SSH and kubectl', () => {
  it('over SSH as a non-root user: backup, flush, restore', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const r = await startRedis({ password: PASSWORD, owner: sshServer.user });
    await fillRedis(r, 200);
    const before = await digest(r);
    const hostKey = (await readFile(sshServer.hostPubFile, 'utf8')).trim().split(/\s+/);
    await writeFile(join(dir, 'known_hosts'), `[127.0.0.1]:${sshServer.port} ${hostKey[0]} ${hostKey[1]}\n`);
    const transport = {
      type: 'ssh',
      host: '127.0.0.1',
      port: sshServer.port,
      user: sshServer.user,
      identityFile: sshServer.key,
      knownHosts: join(dir, 'known_hosts'),
    };
    await writeConfig(dir, { envs: { vm: { storage: s3Storage(bucket), redis: redisSection(r, { transport }) } } });
    const key = await backupKey(dir, 'vm');
    await r.cli('FLUSHALL');
    const res = await runCli(['restore', 'redis', '--env', 'vm', '--from', key], { cwd: dir, env });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(await digest(r), before);
    await r.stop();
  });

  it('through kubectl: round trip, and a truncated stream is refused (exit 3, nothing stored)', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const r = await startRedis({ password: PASSWORD });
    await fillRedis(r, 200);
    const before = await digest(r);
    const pods = await writeReadyPod(dir, { name: 'redis-0', namespace: 'cache', labels: { app: 'redis' } });
    const kube = { PATH: `${join(ROOT, 'test', 'fixtures', 'kube')}:${process.env.PATH}`, IGB_KUBE_PODS: pods };
    const transport = { type: 'kubernetes', namespace: 'cache', pod: 'redis-0' };
    await writeConfig(dir, { envs: { k8s: { storage: s3Storage(bucket), redis: redisSection(r, { transport }) } } });
    const key = await backupKey(dir, 'k8s', [], kube);
    await r.cli('FLUSHALL');
    const res = await runCli(['restore', 'redis', '--env', 'k8s', '--from', key], {
      cwd: dir,
      env: { ...env, ...kube },
    });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(await digest(r), before);

    const b2 = await makeBucket();
    await writeConfig(dir, { envs: { k8s: { storage: s3Storage(b2), redis: redisSection(r, { transport }) } } });
    const bad = await runCli(['backup', 'redis', '--env', 'k8s'], {
      cwd: dir,
      env: { ...env, ...kube, IGB_KUBECTL_TRUNCATE_TAIL: '100', IGB_KUBECTL_FAULT_ONLY: '--rdb' },
    });
    assert.equal(bad.code, 3, bad.stderr);
    await assertNothingStored(b2);
    await r.stop();
  });
});
