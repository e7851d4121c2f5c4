// A Redis restore as data: the file steps of the swap run for real in a temp dir (kept aside without a copy, put back
// whatever had run, a symlinked config kept), what redis-check-rdb read, and the verdicts on maxmemory and the load.

import assert from 'node:assert/strict';
import { lstat, readFile, readdir, stat, symlink, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import type { CommandSpec } from '../../../src/domain/command.js';
import * as files from '../../../src/engines/files.js';
import * as redis from '../../../src/engines/redis/commands.js';
import { backupCannotFit, judgeLoad, type Loaded } from '../../../src/engines/redis/restore-checks.js';
import { tempDir } from '../../helpers/cli.js';

async function sh(spec: CommandSpec, input?: string): Promise<{ code: number; stdout: string }> {
  const r = await execa(spec.argv[0] as string, spec.argv.slice(1), { reject: false, input: input ?? '' });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout).trim() };
}

async function dumpDir(): Promise<{ dir: string; rdb: string; aside: string }> {
  const dir = await tempDir();
  const rdb = join(dir, "it's dump.rdb"); // a quote in the name: paths travel as arguments
  return { dir, rdb, aside: `${rdb}.igbackup-20261127T080000-ab12` };
}

describe('redis restore file steps', () => {
  it('keeps the dump aside as a hard link (no copy); putting back after the rename restores the old bytes and leaves no extra file', async () => {
    const { dir, rdb, aside } = await dumpDir();
    await writeFile(rdb, 'old');
    assert.deepEqual(await sh(files.keepAsideCommand(rdb, aside)), { code: 0, stdout: 'kept' });
    assert.equal((await stat(aside)).ino, (await stat(rdb)).ino);
    assert.equal((await sh(files.writeNewCommand(rdb), 'new')).code, 0);
    assert.equal(await readFile(rdb, 'utf8'), 'old', 'written to the temp file only');
    assert.equal((await sh(files.renameNewCommand(rdb))).code, 0);
    assert.equal(await readFile(rdb, 'utf8'), 'new');
    assert.equal((await sh(files.putBackCommand(rdb, aside, 'kept'))).code, 0);
    assert.equal(await readFile(rdb, 'utf8'), 'old');
    assert.deepEqual(await readdir(dir), ["it's dump.rdb"]);
  });

  it('putting back after a write cut short, or before any write, leaves exactly the old file', async () => {
    for (const partial of [true, false]) {
      const { dir, rdb, aside } = await dumpDir();
      await writeFile(rdb, 'old');
      await sh(files.keepAsideCommand(rdb, aside));
      if (partial) await writeFile(`${rdb}.igbackup-new`, 'half');
      assert.equal((await sh(files.putBackCommand(rdb, aside, 'kept'))).code, 0);
      assert.equal(await readFile(rdb, 'utf8'), 'old');
      assert.deepEqual(await readdir(dir), ["it's dump.rdb"]);
    }
  });

  it('no dump before: "none", and putting back removes the restored one; a kept file that went missing fails and changes nothing', async () => {
    const { dir, rdb, aside } = await dumpDir();
    assert.deepEqual(await sh(files.keepAsideCommand(rdb, aside)), { code: 0, stdout: 'none' });
    await sh(files.writeNewCommand(rdb), 'new');
    await sh(files.renameNewCommand(rdb));
    assert.equal((await sh(files.putBackCommand(rdb, aside, 'none'))).code, 0);
    assert.deepEqual(await readdir(dir), []);
    await writeFile(rdb, 'restored');
    assert.notEqual((await sh(files.putBackCommand(rdb, aside, 'kept'))).code, 0);
    assert.equal(await readFile(rdb, 'utf8'), 'restored');
  });

  it('a symlinked config file: rewriting its real path keeps the link, and putting it back restores the target', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'etc'));
    const real = join(dir, 'etc', 'redis.conf');
    const link = join(dir, 'redis.conf');
    await writeFile(real, 'port 6379\nappendonly yes\n');
    await symlink(real, link);
    const resolved = (await sh(files.realPathCommand(link))).stdout;
    assert.equal(resolved, real);
    assert.equal((await sh(redis.disableAofInConfigCommand(resolved))).code, 0);
    assert.equal(await readFile(link, 'utf8'), 'port 6379\nappendonly no\n');
    assert.equal((await sh(redis.restoreConfigCommand(resolved))).code, 0);
    assert.ok((await lstat(link)).isSymbolicLink());
    assert.equal(await readFile(real, 'utf8'), 'port 6379\nappendonly yes\n');
    assert.equal((await sh(redis.restoreConfigIfSavedCommand(resolved))).code, 0, 'nothing saved: nothing to do');
    assert.deepEqual((await readdir(join(dir, 'etc'))).sort(), ['redis.conf']);
  });
});

describe('what redis-check-rdb read and the verdicts on memory and the load', () => {
  it('reads keys, keys with an expire and the used-mem AUX field of redis-check-rdb 7', () => {
    const out =
      "[offset 0] Checking RDB file dump.rdb\n[offset 68] AUX FIELD used-mem = '1051144'\n[offset 18889] Checksum OK\n[info] 1001 keys read\n[info] 1 expires\n[info] 0 already expired\n";
    assert.deepEqual(redis.parseCheckRdb(out), { keys: 1001, expires: 1, usedMem: 1051144 });
    assert.deepEqual(redis.parseCheckRdb('[info] 3 keys read\n'), { keys: 3, expires: undefined, usedMem: undefined });
  });

  it('refuses a backup whose RDB alone cannot fit maxmemory, and only then', () => {
    const limit = { maxmemory: 2_000_000, policy: 'allkeys-lru' };
    assert.match(
      backupCannotFit(1_200_000, 900_000, limit) ?? '',
      /its RDB alone is 1\.1 MiB .* over maxmemory 1\.9 MiB \(2000000 bytes, maxmemory-policy allkeys-lru\): keys would be evicted/,
    );
    assert.match(
      backupCannotFit(1_200_000, 900_000, { ...limit, policy: 'noeviction' }) ?? '',
      /every write would be refused \(OOM\)/,
    );
    assert.equal(backupCannotFit(1_000_000, 900_000, limit), undefined);
    assert.equal(backupCannotFit(9e9, 900_000, { maxmemory: 0, policy: 'noeviction' }), undefined, 'no limit');
  });

  const loaded = (o: Partial<Loaded>): Loaded => ({
    keys: 5001,
    evicted: 0,
    usedMemory: 2e6,
    notCounted: 0,
    maxmemory: 0,
    policy: 'noeviction',
    ...o,
  });
  const backup = { keys: 5001, expires: 1 };

  it('fails a load with evictions or over maxmemory, naming maxmemory and the policy', () => {
    const evicted = judgeLoad(
      backup,
      loaded({ keys: 2648, evicted: 2353, maxmemory: 1_536_000, policy: 'allkeys-lru' }),
    );
    assert.match(
      evicted.problem ?? '',
      /^Redis holds 2648 keys after the load, the backup 5001 \(1 with a TTL\): 2353 keys were evicted during the load$/,
    );
    assert.match(evicted.hint ?? '', /maxmemory 1\.5 MiB \(1536000 bytes, maxmemory-policy allkeys-lru\), used_memory/);
    const over = judgeLoad(backup, loaded({ usedMemory: 3e6, notCounted: 1e5, maxmemory: 2e6 }));
    assert.match(over.problem ?? '', /does not fit: .*noeviction.*every write would be refused/);
    assert.deepEqual(
      judgeLoad(backup, loaded({ usedMemory: 2.05e6, notCounted: 1e5, maxmemory: 2e6 })),
      {},
      'buffers maxmemory does not count',
    );
  });

  it('fails when keys without a TTL are missing; only warns when no more than the keys with a TTL are', () => {
    assert.match(judgeLoad(backup, loaded({ keys: 4999 })).problem ?? '', /keys without a TTL are missing/);
    assert.match(judgeLoad(backup, loaded({ keys: 4999 })).hint ?? '', /not fully loaded/);
    assert.deepEqual(judgeLoad(backup, loaded({ keys: 5000 })), {
      warning:
        'Redis holds 5000 keys after the load, the backup 5001 (1 with a TTL): 1 fewer, no more than the keys with a TTL, which may have expired',
    });
    assert.match(judgeLoad({ keys: 10 }, loaded({ keys: 9 })).warning ?? '', /did not say how many have one/);
    assert.match(judgeLoad({ keys: 10 }, loaded({ keys: 0 })).problem ?? '', /keys without a TTL are missing/);
    assert.deepEqual(judgeLoad({}, loaded({ keys: 3 })), {});
  });
});
