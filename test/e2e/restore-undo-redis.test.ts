// A failed or cancelled Redis restore brings back exactly the state at its start, on real redis-server 7 instances:
// writes since the last save included, with AOF off and on, also after a plain restart; a cancel while igbackup starts
// Redis (locally and over SSH), while AOF is turned back on, an AOF that cannot be turned on, a backup evicted by
// maxmemory. Nothing is left beside the dump or the config; a recovery that cannot start Redis says DOWN (exit 69).

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, rename, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { before, beforeEach, describe, it } from 'node:test';
import { execa } from 'execa';
import { ROOT, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { makeBucket, sshServer } from '../helpers/servers.js';
import { digest, fillRedis, startRedis, type RedisInstance } from '../helpers/redis.js';
import { backup, leftovers, section, sshTransport, startRestore, until, waitPong } from '../helpers/redis-restore.js';

const FAIL_ONCE = join(ROOT, 'test', 'fixtures', 'bin', 'fail-once');
/** A start command that, the first time (no marker yet), runs the start, then creates the marker and stays 30 s. */
const HOLD_AFTER_START = 'm="$1"; shift; if [ -e "$m" ]; then exec "$@"; fi; "$@" && : > "$m" && exec sleep 30';

/** Fills `r` with what the backup must not bring back: other keys and a write made after the last save. */
async function changeAfterBackup(r: RedisInstance): Promise<string> {
  await r.cli('FLUSHALL');
  await fillRedis(r, 7);
  await r.cli('SAVE');
  await r.cli('SET', 'written-after-the-last-save', 'must survive');
  return digest(r);
}

async function restart(r: RedisInstance, start = r.start): Promise<void> {
  await r.cli('SHUTDOWN');
  await execa(start[0] as string, start.slice(1));
  await waitPong(r);
}

describe('redis restore: exactly the old state back', () => {
  let dir: string;
  let bucket: string;
  before(async () => {
    dir = await tempDir();
    bucket = await makeBucket();
  });

  for (const appendonly of [false, true]) {
    it(`writes since the last save survive a restore that fails after the stop${appendonly ? ' (AOF on)' : ''}: exit 1, the state before the restore`, async () => {
      const r = await startRedis({ appendonly });
      await fillRedis(r, 200);
      const key = await backup(dir, r, bucket);
      const digestBefore = await changeAfterBackup(r);
      const marker = join(dir, `fail-once-${r.port}`);
      await writeConfig(dir, {
        envs: { dev: { storage: s3Storage(bucket), redis: section(r, { start: [FAIL_ONCE, marker, ...r.start] }) } },
      });
      const res = await runCli(['restore', 'redis', '--env', 'dev', '--from', key], { cwd: dir });
      assert.equal(res.code, 1, res.stderr);
      assert.match(res.stderr, /injected failure; no Redis runs the restored dump/);
      const recovery = appendonly
        ? /recovery: put the original config file back: ok; put the previous dump\.rdb back: ok; start Redis again with its AOF, untouched by the restore \(the state at the stop\): ok$/m
        : /recovery: put the previous dump\.rdb back: ok; start Redis again with the previous dump\.rdb \(saved by SHUTDOWN SAVE: every write up to the stop\): ok$/m;
      assert.match(res.stderr, recovery);
      assert.equal(await digest(r), digestBefore, 'the state at the moment of the restore was not put back');
      assert.deepEqual(await leftovers(r.dir), []);
      if (appendonly) {
        assert.match(await readFile(r.conf, 'utf8'), /^appendonly yes$/m);
        await restart(r);
        assert.equal(await digest(r), digestBefore, 'a plain restart loads another state');
      }
      await r.stop();
    });
  }

  it('a recovery that cannot start Redis: exit 69, first line says DOWN, the named commands bring back the state', async () => {
    const r = await startRedis();
    await fillRedis(r, 50);
    const key = await backup(dir, r, bucket);
    await r.cli('SET', 'written-after-the-backup', 'yes');
    const digestBefore = await digest(r);
    const broken = ['sh', '-c', 'echo "start refused" >&2; exit 1'];
    await writeConfig(dir, { envs: { dev: { storage: s3Storage(bucket), redis: section(r, { start: broken }) } } });
    const res = await runCli(['restore', 'redis', '--env', 'dev', '--from', key], { cwd: dir });
    assert.equal(res.code, 69, res.stderr);
    const errorLine = res.stderr.split('\n').find((l) => l.startsWith('error:')) ?? '';
    assert.match(errorLine, new RegExp(`^error: Redis 127\\.0\\.0\\.1:${r.port} is DOWN`));
    assert.match(
      res.stderr,
      /recovery: put the previous dump\.rdb back: ok; start Redis again with the previous dump\.rdb \(.*\): FAILED \(sh exited with code 1: start refused\)/,
    );
    assert.match(res.stderr, /hint: bring it back by hand: sh -c 'echo "start refused" >&2; exit 1'/);
    assert.notEqual(await r.cli('PING').catch(() => 'down'), 'PONG');
    // What the hint names, with the working start command: the state at the moment of the restore comes back.
    await execa(r.start[0] as string, r.start.slice(1));
    await waitPong(r);
    assert.equal(await digest(r), digestBefore);
    await r.stop();
  });
});

describe('redis restore: a cancel or a failure after Redis was started on the restored dump', () => {
  let dir: string;
  let bucket: string;
  beforeEach(async () => {
    dir = await tempDir();
    bucket = await makeBucket(); // each test its own lock: one that fails cannot hold up the next
  });

  for (const how of ['local', 'local, AOF on', 'over SSH'] as const) {
    it(`SIGTERM while the start command runs, Redis already up on the restored dump (${how}): exit 130, the state before the restore, nothing left`, async () => {
      const ssh = how === 'over SSH';
      const r = await startRedis({ appendonly: how === 'local, AOF on', owner: ssh ? sshServer.user : undefined });
      await fillRedis(r, 300);
      const key = await backup(dir, r, bucket);
      const digestBefore = await changeAfterBackup(r);
      const marker = join(r.dir, 'started-once');
      const start = ['sh', '-c', HOLD_AFTER_START, 'sh', marker, ...r.start];
      await writeConfig(dir, {
        envs: {
          dev: {
            storage: s3Storage(bucket),
            redis: section(r, { start }, ssh ? { transport: await sshTransport(dir) } : {}),
          },
        },
      });
      const run = startRestore(dir, key);
      assert.ok(await until(() => existsSync(marker)), `the start never ran:\n${run.stderr()}`);
      run.child.kill('SIGTERM');
      const res = await run.child;
      assert.equal(res.exitCode, 130, run.stderr());
      assert.match(
        run.stderr(),
        /cancelled by SIGTERM; the Redis this start had launched on the restored dump was stopped \(SHUTDOWN NOSAVE FORCE\)/,
      );
      assert.match(run.stderr(), /put the previous dump\.rdb back: ok; start Redis again with .*: ok$/m);
      assert.doesNotMatch(run.stderr(), /something else/);
      assert.equal(await digest(r), digestBefore, 'the restored data, not the state before the restore');
      assert.deepEqual(await leftovers(r.dir), []);
      await r.stop();
    });
  }

  it('over SSH, SIGTERM as the restored RDB is being written: exit 130, the state before the restore, no copy or temp file left', async () => {
    const r = await startRedis({ owner: sshServer.user });
    await fillRedis(r, 20000);
    const key = await backup(dir, r, bucket);
    const digestBefore = await changeAfterBackup(r);
    await writeConfig(dir, {
      envs: { dev: { storage: s3Storage(bucket), redis: section(r, {}, { transport: await sshTransport(dir) }) } },
    });
    const run = startRestore(dir, key);
    assert.ok(await until(() => run.stderr().includes('> writing the restored RDB')), run.stderr());
    run.child.kill('SIGTERM');
    const res = await run.child;
    assert.equal(res.exitCode, 130, run.stderr());
    assert.match(
      run.stderr(),
      /recovery: (.*: ok; )?put the previous dump\.rdb back: ok; start Redis again with the previous dump\.rdb .*: ok$/m,
    );
    assert.equal(await digest(r), digestBefore);
    assert.deepEqual(await leftovers(r.dir), []);
    await r.stop();
  });

  it('SIGTERM while AOF is turned back on (the rewrite is slow): exit 130, the state before the restore, also after a plain restart', async () => {
    const r = await startRedis({ appendonly: true });
    await fillRedis(r, 400);
    const key = await backup(dir, r, bucket);
    const digestBefore = await changeAfterBackup(r);
    const marker = join(r.dir, 'slow-once');
    const slowOnce = 'm="$1"; shift; if [ -e "$m" ]; then exec "$@"; fi; : > "$m"; exec "$@" --rdb-key-save-delay 3000';
    await writeConfig(dir, {
      envs: {
        dev: {
          storage: s3Storage(bucket),
          redis: section(r, { start: ['sh', '-c', slowOnce, 'sh', marker, ...r.start] }),
        },
      },
    });
    const run = startRestore(dir, key);
    assert.ok(await until(() => run.stderr().includes('> turning AOF back on')), run.stderr());
    run.child.kill('SIGTERM');
    const res = await run.child;
    assert.equal(res.exitCode, 130, run.stderr());
    assert.match(
      run.stderr(),
      /recovery: stop the Redis started on the restored dump \(SHUTDOWN NOSAVE FORCE\) and wait until it is gone: ok; put the original config file back: ok; put the previous dump\.rdb back: ok; start Redis again with its AOF/,
    );
    assert.equal(await digest(r), digestBefore);
    assert.deepEqual(await leftovers(r.dir), []);
    await restart(r);
    assert.equal(await digest(r), digestBefore, 'a plain restart loads another state');
    await r.stop();
  });

  it('AOF on and Redis cannot turn it back on (its appendonlydir is not writable for it): exit 1, the state before the restore, also after a plain restart', async () => {
    const user = sshServer.user;
    const r = await startRedis({ appendonly: true, owner: user });
    await fillRedis(r, 100);
    const key = await backup(dir, r, bucket);
    const digestBefore = await changeAfterBackup(r);
    const marker = join(r.dir, 'readonly-once');
    const aofDir = join(r.dir, 'appendonlydir');
    // As root (local transport): the preflight passes; the first start makes appendonlydir read-only for Redis's user.
    const script =
      'm="$1"; d="$2"; u="$3"; shift 3; if [ -e "$m" ]; then chmod 755 "$d"; else : > "$m"; chmod 555 "$d"; fi; exec runuser -u "$u" -- "$@"';
    const start = ['sh', '-c', script, 'sh', marker, aofDir, user, ...r.start];
    await writeConfig(dir, { envs: { dev: { storage: s3Storage(bucket), redis: section(r, { start }) } } });
    const res = await runCli(['restore', 'redis', '--env', 'dev', '--from', key], { cwd: dir });
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /error: Redis could not turn AOF back on: .*Unable to turn on AOF/);
    assert.match(
      res.stderr,
      /recovery: stop the Redis started on the restored dump .*: ok; put the original config file back: ok; put the previous dump\.rdb back: ok; start Redis again with its AOF, untouched by the restore \(the state at the stop\): ok/,
    );
    assert.equal(await digest(r), digestBefore);
    assert.match(await readFile(r.conf, 'utf8'), /^appendonly yes$/m);
    assert.deepEqual(await leftovers(r.dir), []);
    await restart(r, ['runuser', '-u', user, '--', ...r.start]);
    assert.equal(await digest(r), digestBefore, 'a plain restart loads another state');
    await r.stop();
  });

  for (const policy of ['allkeys-lru', 'noeviction']) {
    it(`maxmemory too small for the restored dataset (${policy}): exit 1 naming maxmemory and the policy, the state before the restore`, async () => {
      const source = await startRedis();
      await fillRedis(source, 1000);
      const key = await backup(dir, source, bucket);
      await source.stop();
      const r = await startRedis({ extra: ['maxmemory 1400kb', `maxmemory-policy ${policy}`] });
      const digestBefore = await changeAfterBackup(r);
      await writeConfig(dir, { envs: { dev: { storage: s3Storage(bucket), redis: section(r) } } });
      const res = await runCli(['restore', 'redis', '--env', 'dev', '--from', key], { cwd: dir });
      assert.equal(res.code, 1, res.stderr);
      const why =
        policy === 'noeviction'
          ? /the restored dataset does not fit: maxmemory 1\.4 MiB \(1433600 bytes, maxmemory-policy noeviction\)/
          : /the backup 5001 \(1 with a TTL\): \d+ keys were evicted during the load/;
      assert.match(res.stderr, new RegExp(`error: the restore failed: .*${why.source}`));
      assert.match(res.stderr, /maxmemory-policy/);
      assert.match(
        res.stderr,
        /recovery: stop the Redis started on the restored dump \(SHUTDOWN NOSAVE FORCE\) and wait until it is gone: ok; put the previous dump\.rdb back: ok; start Redis again .*: ok/,
      );
      assert.equal(await digest(r), digestBefore);
      assert.deepEqual(await leftovers(r.dir), []);
      await r.stop();
    });
  }

  it('a symlinked config file (AOF on): the restore succeeds, the link stays a link, its target gets its original content back, nothing is left', async () => {
    const r = await startRedis({ appendonly: true });
    const etc = join(r.dir, 'etc');
    await mkdir(etc);
    const real = join(etc, 'redis.conf');
    await rename(r.conf, real);
    await symlink(real, r.conf);
    const original = await readFile(real, 'utf8');
    await fillRedis(r, 100);
    const key = await backup(dir, r, bucket);
    const restored = await digest(r);
    await changeAfterBackup(r);
    await writeConfig(dir, { envs: { dev: { storage: s3Storage(bucket), redis: section(r) } } });
    const res = await runCli(['restore', 'redis', '--env', 'dev', '--from', key], { cwd: dir });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, new RegExp(`writing appendonly no into ${real} `));
    assert.ok((await lstat(r.conf)).isSymbolicLink(), 'the symlink was replaced');
    assert.equal(await readFile(real, 'utf8'), original);
    assert.equal(await digest(r), restored);
    assert.deepEqual(await leftovers(r.dir, etc), []);
    await restart(r);
    assert.equal(await digest(r), restored, 'the restored data is not in the AOF');
    await r.stop();
  });

  it('past the point of no return (AOF rewritten), the config file cannot be put back: exit 1 saying the restore is done, with the exact command', async () => {
    const user = sshServer.user;
    const r = await startRedis({ appendonly: true, owner: user });
    const etc = join(r.dir, 'etc');
    await mkdir(etc);
    const conf = join(etc, 'redis.conf');
    await rename(r.conf, conf);
    await execa('chown', [user, etc, conf]);
    await fillRedis(r, 50);
    const key = await backup(dir, r, bucket);
    const restored = await digest(r);
    await changeAfterBackup(r);
    // Over SSH as Redis's user: the first start makes the config's directory read-only once Redis runs.
    const script = 'm="$1"; d="$2"; shift 2; if [ -e "$m" ]; then exec "$@"; fi; : > "$m"; "$@" && chmod 555 "$d"';
    const start = ['sh', '-c', script, 'sh', join(r.dir, 'started-once'), etc, 'redis-server', conf];
    await writeConfig(dir, {
      envs: {
        dev: {
          storage: s3Storage(bucket),
          redis: section(r, { start, configFile: conf }, { transport: await sshTransport(dir) }),
        },
      },
    });
    const res = await runCli(['restore', 'redis', '--env', 'dev', '--from', key], { cwd: dir });
    assert.equal(res.code, 1, res.stderr);
    assert.match(
      res.stderr,
      /error: the restore is done — Redis runs the restored data, persisted in its AOF — but the original config file could not be put back: /,
    );
    assert.match(
      res.stderr,
      new RegExp(`hint: on ${user}@127\\.0\\.0\\.1:\\d+, run: mv -f ${conf}\\.igbackup-orig ${conf} — until then`),
    );
    assert.doesNotMatch(res.stderr, /recovery:/);
    assert.equal(await digest(r), restored);
    assert.deepEqual(await leftovers(r.dir), [], 'the dump kept aside is gone');
    await execa('chmod', ['755', etc]);
    await execa('mv', ['-f', `${conf}.igbackup-orig`, conf]); // what the hint says
    assert.match(await readFile(conf, 'utf8'), /^appendonly yes$/m);
    await restart(r, ['runuser', '-u', user, '--', 'redis-server', conf]);
    assert.equal(await digest(r), restored, 'the restored data is not in the AOF');
    await r.stop();
  });
});
