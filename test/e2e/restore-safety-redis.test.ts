// A Redis restore never makes things worse, on real redis-server 7 instances: everything it needs is checked before
// the download and the stop (exit 2, Redis untouched): the paths and commands, a Redis that does not answer, the ACL
// permissions of its user, CONFIG SET with AOF, a backup that cannot fit maxmemory. (What a failed or cancelled restore
// puts back: restore-undo-redis.test.ts.)

import assert from 'node:assert/strict';
import { chmod } from 'node:fs/promises';
import { before, describe, it } from 'node:test';
import { execa } from 'execa';
import { runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { makeBucket, sshServer } from '../helpers/servers.js';
import { digest, fillRedis, startRedis } from '../helpers/redis.js';
import { backup, runId, section, sshTransport } from '../helpers/redis-restore.js';

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
    await writeConfig(dir, {
      envs: { dev: { storage: s3Storage(bucket), redis: section(r, {}, { transport: await sshTransport(dir) }) } },
    });
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
    for (const start of [
      ['/nonexistent/bin/redis-server', r.conf],
      ['no-such-redis-starter', r.conf],
    ]) {
      await writeConfig(dir, { envs: { dev: { storage: s3Storage(bucket), redis: section(r, { start }) } } });
      const res = await runCli(['restore', 'redis', '--env', 'dev', '--from', key], { cwd: dir });
      assert.equal(res.code, 2, res.stderr);
      assert.match(
        res.stderr,
        new RegExp(
          `the start command ${start[0]} (does not exist|is not found in PATH) for user "root".*restore\\.start`,
        ),
      );
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
    await writeConfig(dir, {
      envs: {
        dev: {
          storage: s3Storage(bucket),
          redis: section(r, {}, { user: 'restorer', password: { env: 'RESTORER_PW' } }),
        },
      },
    });
    const res = await runCli(['restore', 'redis', '--env', 'dev', '--from', key], {
      cwd: dir,
      env: { RESTORER_PW: 'restorer-pw' },
    });
    assert.equal(res.code, 2, res.stderr);
    assert.match(
      res.stderr,
      /CONFIG SET is refused \(NOPERM this user has no permissions to run the 'config\|set' command\).*ACL \+config\|set/,
    );
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
    assert.match(
      res.stderr,
      /could not save Redis's current dataset before the restore[\s\S]*Redis was not stopped; nothing was changed/,
    );
    assert.doesNotMatch(res.stderr, /> stopping Redis/);
    assert.equal(await runId(r), id);
    assert.equal(await digest(r), digestBefore);
    await execa('chown', [sshServer.user, r.dir]);
    await r.stop();
  });

  it('Redis does not answer: exit 2 before anything, saying to start it first and why', async () => {
    const r = await startRedis();
    await fillRedis(r, 10);
    const key = await backup(dir, r, bucket);
    await r.stop();
    await writeConfig(dir, { envs: { dev: { storage: s3Storage(bucket), redis: section(r) } } });
    const res = await runCli(['restore', 'redis', '--env', 'dev', '--from', key], { cwd: dir });
    assert.equal(res.code, 2, res.stderr);
    assert.match(
      res.stderr,
      new RegExp(
        `error: Redis at 127\\.0\\.0\\.1:${r.port} does not answer \\(Could not connect.*\\): nothing was changed and nothing downloaded`,
      ),
    );
    assert.match(
      res.stderr,
      /hint: start it first \(restore\.start: redis-server \S+\) and run the restore again: igbackup restores into a running Redis/,
    );
    assert.doesNotMatch(res.stderr, /downloading|exited with code/);
  });

  it('an ACL user without SHUTDOWN or BGSAVE, or whose password is wrong: exit 2 before the download, Redis untouched', async () => {
    const r = await startRedis();
    await fillRedis(r, 10);
    const key = await backup(dir, r, bucket);
    const id = await runId(r);
    const digestBefore = await digest(r);
    const cases = [
      {
        rules: ['-shutdown'],
        password: 'pw-1',
        found:
          /Redis's user "restorer" may not run SHUTDOWN NOSAVE \(ACL DRYRUN: This user has no permissions to run the 'shutdown' command\).*ACL SETUSER restorer \+shutdown/,
      },
      {
        rules: ['-bgsave'],
        password: 'pw-1',
        found: /Redis's user "restorer" may not run BGSAVE \(ACL DRYRUN: .*'bgsave'/,
      },
      {
        rules: [],
        password: 'wrong',
        found: /redis-cli is logged in as "default", not as the configured user "restorer": AUTH failed/,
      },
    ];
    for (const c of cases) {
      await r.cli('ACL', 'SETUSER', 'restorer', 'reset', 'on', '>pw-1', '~*', '&*', '+@all', ...c.rules);
      await writeConfig(dir, {
        envs: {
          dev: {
            storage: s3Storage(bucket),
            redis: section(r, {}, { user: 'restorer', password: { env: 'RESTORER_PW' } }),
          },
        },
      });
      const res = await runCli(['restore', 'redis', '--env', 'dev', '--from', key], {
        cwd: dir,
        env: { RESTORER_PW: c.password },
      });
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, c.found);
      assert.doesNotMatch(res.stderr, /downloading|> stopping Redis/);
      assert.ok(!res.stderr.includes(c.password));
    }
    assert.equal(await runId(r), id);
    assert.equal(await digest(r), digestBefore);
    await r.stop();
  });

  it('a backup whose RDB alone cannot fit maxmemory: exit 2 after the download, before anything is stopped', async () => {
    const source = await startRedis();
    await fillRedis(source, 3000);
    const key = await backup(dir, source, bucket);
    await source.stop();
    const r = await startRedis({ extra: ['maxmemory 1100000', 'maxmemory-policy noeviction'] });
    await fillRedis(r, 5);
    const id = await runId(r);
    const digestBefore = await digest(r);
    await writeConfig(dir, { envs: { dev: { storage: s3Storage(bucket), redis: section(r) } } });
    const res = await runCli(['restore', 'redis', '--env', 'dev', '--from', key], { cwd: dir });
    assert.equal(res.code, 2, res.stderr);
    assert.match(
      res.stderr,
      /the backup cannot fit this Redis: its RDB alone is .* over maxmemory 1\.0 MiB \(1100000 bytes, maxmemory-policy noeviction\): every write would be refused/,
    );
    assert.match(res.stderr, /hint: nothing was changed/);
    assert.doesNotMatch(res.stderr, /> stopping Redis|BGSAVE/);
    assert.equal(await runId(r), id);
    assert.equal(await digest(r), digestBefore);
    await r.stop();
  });
});
