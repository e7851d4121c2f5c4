// A Redis restore never makes things worse, on real redis-server 7 instances: everything it needs is checked before
// the download and the stop (exit 2, Redis untouched), the state at the moment of the restore (writes since the last
// save included) is what a failed restore puts back, and a recovery that cannot start Redis says DOWN (exit 69).

import assert from 'node:assert/strict';
import { readFile, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { ROOT, parseJson, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { makeBucket, sshServer } from '../helpers/servers.js';
import { digest, fillRedis, startRedis, type RedisInstance } from '../helpers/redis.js';

const FAIL_ONCE = join(ROOT, 'test', 'fixtures', 'bin', 'fail-once');

function section(r: RedisInstance, restore: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { host: '127.0.0.1', port: r.port, restore: { start: r.start, configFile: r.conf, loadTimeoutSec: 30, ...restore }, ...extra };
}

async function runId(r: RedisInstance): Promise<string> {
  return /run_id:(\w+)/.exec(await r.cli('INFO', 'server'))?.[1] ?? '';
}

async function sshTransport(dir: string): Promise<Record<string, unknown>> {
  const hostKey = (await readFile(sshServer.hostPubFile, 'utf8')).trim().split(/\s+/);
  await writeFile(join(dir, 'known_hosts'), `[127.0.0.1]:${sshServer.port} ${hostKey[0]} ${hostKey[1]}\n`);
  return { type: 'ssh', host: '127.0.0.1', port: sshServer.port, user: sshServer.user, identityFile: sshServer.key, knownHosts: join(dir, 'known_hosts') };
}

/** A backup of `r` in a fresh bucket; returns its key. */
async function backup(dir: string, r: RedisInstance, bucket: string): Promise<string> {
  await writeConfig(dir, { envs: { dev: { storage: s3Storage(bucket), redis: section(r) } } });
  const b = await runCli(['--json', 'backup', 'redis', '--env', 'dev'], { cwd: dir });
  assert.equal(b.code, 0, b.stderr);
  return parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
}

async function waitPong(r: RedisInstance): Promise<void> {
  for (let i = 0; i < 200 && (await r.cli('PING').catch(() => '')) !== 'PONG'; i++) await sleep(50);
}

describe('redis restore: preflight before the download and the stop', () => {
  let dir: string;
  let bucket: string;
  before(async () => {
    dir = await tempDir();
    bucket = await makeBucket();
  });

  it('over SSH, a dir the SSH user cannot write: exit 2 before any download or stop, Redis untouched', async () => {
    const r = await startRedis(); // runs as root
    await fillRedis(r, 100);
    const key = await backup(dir, r, bucket);
    await chmod(r.dir, 0o755); // root-owned, not writable by the SSH user
    await r.cli('SET', 'after-backup', 'kept');
    const digestBefore = await digest(r);
    const id = await runId(r);
    await writeConfig(dir, { envs: { dev: { storage: s3Storage(bucket), redis: section(r, {}, { transport: await sshTransport(dir) }) } } });
    const res = await runCli(['restore', 'redis', '--env', 'dev', '--from', key], { cwd: dir });
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /nothing was changed and nothing downloaded/);
    assert.match(res.stderr, new RegExp(`Redis's dir ${r.dir} is not writable for user "${sshServer.user}"`));
    assert.doesNotMatch(res.stderr, /downloading|> stopping Redis/);
    assert.equal(await runId(r), id, 'Redis was restarted');
    assert.equal(await digest(r), digestBefore);
    await r.stop();
  });

  it('a start command that does not exist (path or name): exit 2 before the stop, Redis untouched', async () => {
    const r = await startRedis();
    await fillRedis(r, 20);
    const key = await backup(dir, r, bucket);
    const id = await runId(r);
    const digestBefore = await digest(r);
    for (const start of [['/nonexistent/bin/redis-server', r.conf], ['no-such-redis-starter', r.conf]]) {
      await writeConfig(dir, { envs: { dev: { storage: s3Storage(bucket), redis: section(r, { start }) } } });
      const res = await runCli(['restore', 'redis', '--env', 'dev', '--from', key], { cwd: dir });
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, new RegExp(`the start command ${start[0]} (does not exist|is not found in PATH) for user "root".*restore\\.start`));
      assert.doesNotMatch(res.stderr, /downloading|> stopping Redis/);
    }
    assert.equal(await runId(r), id);
    assert.equal(await digest(r), digestBefore);
    await r.stop();
  });

  it('AOF on and an ACL user without CONFIG SET: exit 2 before the stop, Redis untouched', async () => {
    const r = await startRedis({ appendonly: true });
    await fillRedis(r, 20);
    const key = await backup(dir, r, bucket);
    await r.cli('ACL', 'SETUSER', 'restorer', 'on', '>restorer-pw', '~*', '&*', '+@all', '-config|set');
    const id = await runId(r);
    const digestBefore = await digest(r);
    await writeConfig(dir, { envs: { dev: { storage: s3Storage(bucket), redis: section(r, {}, { user: 'restorer', password: { env: 'RESTORER_PW' } }) } } });
    const res = await runCli(['restore', 'redis', '--env', 'dev', '--from', key], { cwd: dir, env: { RESTORER_PW: 'restorer-pw' } });
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /CONFIG SET is refused \(NOPERM this user has no permissions to run the 'config\|set' command\).*ACL \+config\|set/);
    assert.doesNotMatch(res.stderr, /downloading|> stopping Redis/);
    assert.ok(!res.stderr.includes('restorer-pw'));
    assert.equal(await runId(r), id);
    assert.equal(await digest(r), digestBefore);
    assert.equal(await r.cli('CONFIG', 'GET', 'appendonly'), 'appendonly\nyes');
    await r.stop();
  });

  it('Redis cannot save (its dir became read-only for it): exit 1 before the stop, Redis running, nothing changed', async () => {
    const r = await startRedis({ owner: sshServer.user });
    await fillRedis(r, 20);
    const key = await backup(dir, r, bucket);
    const digestBefore = await digest(r);
    const id = await runId(r);
    await execa('chown', ['root', r.dir]);
    await chmod(r.dir, 0o755); // the preflight runs as root (local transport) and passes; Redis itself cannot write
    await writeConfig(dir, { envs: { dev: { storage: s3Storage(bucket), redis: section(r) } } });
    const res = await runCli(['restore', 'redis', '--env', 'dev', '--from', key], { cwd: dir });
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /could not save Redis's current dataset before the restore[\s\S]*Redis was not stopped; nothing was changed/);
    assert.doesNotMatch(res.stderr, /> stopping Redis/);
    assert.equal(await runId(r), id);
    assert.equal(await digest(r), digestBefore);
    await execa('chown', [sshServer.user, r.dir]);
    await r.stop();
  });
});

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
      await r.cli('SAVE');
      const key = await backup(dir, r, bucket);
      await r.cli('FLUSHDB');
      await fillRedis(r, 30);
      await r.cli('SET', 'written-after-the-last-save', 'must survive');
      const digestBefore = await digest(r);
      const marker = join(dir, `fail-once-${r.port}`);
      await writeConfig(dir, { envs: { dev: { storage: s3Storage(bucket), redis: section(r, { start: [FAIL_ONCE, marker, ...r.start] }) } } });
      const res = await runCli(['restore', 'redis', '--env', 'dev', '--from', key], { cwd: dir });
      assert.equal(res.code, 1, res.stderr);
      assert.match(res.stderr, /injected failure/);
      const recovery = appendonly
        ? /recovery: put the original config file back: ok; put the previous dump\.rdb back: ok; start Redis: ok; Redis loaded its AOF, untouched by the restore: the state at the stop/
        : /recovery: put the previous dump\.rdb back: ok; start Redis: ok; Redis runs the previous dump\.rdb, saved by SHUTDOWN SAVE: every write up to the stop/;
      assert.match(res.stderr, recovery);
      assert.equal(await digest(r), digestBefore, 'the state at the moment of the restore was not put back');
      assert.equal(await r.cli('GET', 'written-after-the-last-save'), 'must survive');
      if (appendonly) {
        assert.match(await readFile(r.conf, 'utf8'), /^appendonly yes$/m);
        assert.equal(await r.cli('CONFIG', 'GET', 'appendonly'), 'appendonly\nyes');
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
    assert.match(res.stderr, /recovery: put the previous dump\.rdb back: ok; start Redis: FAILED \(sh exited with code 1: start refused\)/);
    assert.match(res.stderr, /hint: on \S+, run: sh -c 'echo "start refused" >&2; exit 1'/);
    assert.notEqual(await r.cli('PING').catch(() => 'down'), 'PONG');
    // What the hint names, with the working start command: the state at the moment of the restore comes back.
    await execa(r.start[0] as string, r.start.slice(1));
    await waitPong(r);
    assert.equal(await digest(r), digestBefore);
    await r.stop();
  });
});
