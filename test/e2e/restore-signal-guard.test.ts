// Signals while a restore has Redis stopped (real redis-server 7): igbackup brings Redis back before it exits, even
// past its 8 s last resort; a second signal only says so; a third stops it at once with exit 69, naming Redis as DOWN
// and the command that brings it back — and that command does.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { makeBucket } from '../helpers/servers.js';
import { digest, fillRedis, startRedis } from '../helpers/redis.js';
import { backup, section, startRestore, until } from '../helpers/redis-restore.js';

/**
 * A start command: the first time it starts Redis on the restored dump, leaves a marker and then hangs (so the test
 * can cancel while igbackup starts Redis); every later time (the recovery) it waits `slow` seconds first.
 */
const START =
  'm="$1"; slow="$2"; shift 2; if [ -e "$m" ]; then sleep "$slow"; exec "$@"; fi; "$@" && : > "$m" && exec sleep 60';

describe('signals while Redis is stopped by a restore', () => {
  let dir: string;
  let bucket: string;
  beforeEach(async () => {
    dir = await tempDir();
    bucket = await makeBucket();
  });

  async function setup(slow: number) {
    const r = await startRedis();
    await fillRedis(r, 200);
    const key = await backup(dir, r, bucket);
    await r.cli('SET', 'written-after-the-backup', 'keep me');
    const before = await digest(r);
    const marker = join(r.dir, 'started-once');
    const start = ['sh', '-c', START, 'sh', marker, String(slow), ...r.start];
    await writeConfig(dir, { envs: { dev: { storage: s3Storage(bucket), redis: section(r, { start }) } } });
    const run = startRestore(dir, key);
    assert.ok(await until(() => existsSync(marker)), `the start never ran:\n${run.stderr()}`);
    return { r, run, before };
  }

  it('a second signal during the recovery only says so; igbackup waits past its last resort until Redis is back: exit 130, the old state', async () => {
    const { r, run, before } = await setup(10);
    run.child.kill('SIGTERM');
    await sleep(1500);
    run.child.kill('SIGTERM');
    const res = await run.child;
    assert.equal(res.exitCode, 130, run.stderr());
    assert.match(
      run.stderr(),
      /Redis 127\.0\.0\.1:\d+ is stopped and igbackup is bringing it back; another SIGTERM stops igbackup at once and leaves it down/,
    );
    assert.match(run.stderr(), /waiting for igbackup to bring back Redis 127\.0\.0\.1:\d+ before it exits/);
    assert.equal(await digest(r), before, 'Redis is not back with the state before the restore');
    await r.stop();
  });

  it('a third signal stops at once: exit 69, Redis named DOWN with the command that brings it back', async () => {
    const { r, run, before } = await setup(20);
    run.child.kill('SIGTERM');
    await sleep(1500);
    run.child.kill('SIGTERM');
    await sleep(1500);
    const t0 = Date.now();
    run.child.kill('SIGTERM');
    const res = await run.child;
    assert.equal(res.exitCode, 69, run.stderr());
    assert.ok(Date.now() - t0 < 3000, 'did not stop at once');
    const line =
      run
        .stderr()
        .split('\n')
        .find((l) => l.startsWith('error:')) ?? '';
    assert.match(
      line,
      /^error: Redis 127\.0\.0\.1:\d+ is DOWN: igbackup was stopped by SIGTERM \(another signal\) while bringing it back; bring it back by hand: sh -c /,
    );
    // Its children went with it: Redis stays down until the operator acts.
    await sleep(500);
    assert.notEqual(await r.cli('PING').catch(() => 'down'), 'PONG', 'Redis came back by itself');
    await execa(r.start[0] as string, r.start.slice(1));
    assert.ok(await until(async () => (await r.cli('PING').catch(() => '')) === 'PONG'));
    assert.equal(await digest(r), before, 'the files were not put back before the stop');
    await r.stop();
  });
});
