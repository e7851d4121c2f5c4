// A Neo4j restore never makes things worse: a copy of the current database is kept (dumped through the transport)
// before the load, and loaded back when the load or the check fails or the run is cancelled; a put-back that fails
// leaves Neo4j DOWN with the copy kept and commands that work; Neo4j found stopped stays stopped. Stand-ins whose
// load removes the old store first, as the real neo4j-admin does with --overwrite-destination.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { BIN, parseJson, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { makeBucket } from '../helpers/servers.js';
import { neo4jHome } from '../helpers/neo4j.js';
import { runWithSmallDisk } from '../helpers/small-disk.js';

const service = {
  stop: ['neo4j', 'stop'],
  start: ['neo4j', 'start'],
  status: ['neo4j', 'status'],
  readyTimeoutSec: 5,
  startAttempts: 2,
};

/** A stand-in Neo4j with a backup of its store taken, then the store changed: `current` is what a restore must keep on failure. */
async function backedUp(neo4jCfg: Record<string, unknown> = { service }) {
  const n = await neo4jHome();
  const bucket = await makeBucket();
  await writeConfig(n.dir, { envs: { vm: { storage: s3Storage(bucket), neo4j: neo4jCfg } } });
  const b = await runCli(['backup', 'neo4j', '--env', 'vm'], { cwd: n.dir, env: n.env() });
  assert.equal(b.code, 0, b.stderr);
  const current = randomBytes(150_000); // the writes since the backup: what "the old state" is
  await writeFile(n.store, current);
  await n.clearCalls();
  return {
    ...n,
    current,
    restore: (extra: Record<string, string> = {}, args: string[] = []) =>
      runCli([...args, 'restore', 'neo4j', '--env', 'vm', '--latest'], { cwd: n.dir, env: n.env(extra) }),
  };
}

const PUT_BACK =
  /recovery: put the previous "neo4j" back \(loaded the copy taken before the restore\): ok; started Neo4j/;

describe('neo4j restore safety: the previous database is put back', () => {
  it('check fails after the load: exit 1, the pre-restore store back, Neo4j running, the message says it was put back', async () => {
    const n = await backedUp();
    const r = await n.restore({ IGB_NEO4J_FAIL: 'check' });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /^error: neo4j-admin database check found problems in the restored "neo4j":\nInconsistencies found\n/m,
    );
    assert.match(r.stderr, PUT_BACK);
    assert.deepEqual(await readFile(n.store), n.current);
    assert.ok(await n.running());
    assert.deepEqual(await n.calls(), [
      'neo4j stop',
      'neo4j-admin database dump neo4j --to-stdout',
      'neo4j-admin database load neo4j --from-stdin --overwrite-destination=true',
      'neo4j-admin database check neo4j',
      'neo4j-admin database load neo4j --from-stdin --overwrite-destination=true',
      'neo4j start',
    ]);
  });

  it('SIGTERM during the load (the old store already removed): exit 130, the pre-restore store back, Neo4j running', async () => {
    const n = await backedUp();
    const child = execa('node', [BIN, 'restore', 'neo4j', '--env', 'vm', '--latest'], {
      cwd: n.dir,
      env: { NO_COLOR: '1', ...n.env({ IGB_NEO4J_FAIL: 'slow-load@1', IGB_NEO4J_SLOW_SEC: '60' }) },
      reject: false,
    });
    for (let i = 0; i < 600 && !(await n.calls()).some((c) => c.startsWith('neo4j-admin database load')); i++)
      await new Promise((res) => setTimeout(res, 50));
    for (
      let i = 0;
      i < 100 &&
      (await readFile(n.store).then(
        (b) => b.length,
        () => -1,
      )) !== 100;
      i++
    )
      await new Promise((res) => setTimeout(res, 50));
    assert.equal((await readFile(n.store)).length, 100, 'the load did not get to replace the store');
    const t0 = Date.now();
    child.kill('SIGTERM');
    const r = await child;
    assert.equal(r.exitCode, 130, String(r.stderr));
    assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms after the signal`);
    assert.match(String(r.stderr), /cancelled by SIGTERM/);
    assert.match(String(r.stderr), PUT_BACK);
    assert.deepEqual(await readFile(n.store), n.current);
    assert.ok(await n.running());
  });

  it(`the copy's own dump fails: nothing loaded, Neo4j started with the old store, exit 1`, async () => {
    const n = await backedUp();
    const r = await n.restore({ IGB_NEO4J_FAIL: 'dump' });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /could not keep a copy of the current "neo4j" before replacing it, so nothing was loaded: neo4j-admin exited with code 1/,
    );
    assert.match(r.stderr, /recovery: nothing had been changed; started Neo4j/);
    assert.ok(!(await n.calls()).some((c) => c.includes('database load')), 'something was loaded');
    assert.deepEqual(await readFile(n.store), n.current);
    assert.ok(await n.running());
  });

  it(`the put-back's load fails: exit 69, DOWN first, the copy kept, and the commands named bring the old store back`, async () => {
    const n = await backedUp();
    const r = await n.restore({ IGB_NEO4J_FAIL: 'check,load@2' });
    assert.equal(r.code, 69, r.stderr);
    assert.match(r.stderr, /^error: Neo4j on \S+ is DOWN: /m);
    assert.match(r.stderr, /what failed first: neo4j-admin database check found problems in the restored "neo4j"/);
    assert.match(
      r.stderr,
      /recovery: put the previous "neo4j" back \(loaded the copy taken before the restore\): FAILED \(neo4j-admin exited with code 1: neo4j-admin: injected load failure; the copy is kept at \S+ on this machine; Neo4j is not started/,
    );
    assert.equal(await n.running(), false, 'Neo4j serves the database that failed');
    const hint =
      /^hint: bring it back by hand: (neo4j-admin database load neo4j --from-stdin --overwrite-destination=true < (\S+) && neo4j start)$/m.exec(
        r.stderr,
      );
    assert.ok(hint, r.stderr);
    const kept = hint[2]!;
    await execa('sh', ['-c', hint[1]!], { env: n.env() });
    assert.deepEqual(await readFile(n.store), n.current);
    assert.ok(await n.running());
    await rm(kept);
  });

  it('first restore (the database does not exist): loaded without a copy; a failed check says there was nothing to put back', async () => {
    const n = await backedUp();
    await rm(join(n.store, '..'), { recursive: true });
    const bad = await n.restore({ IGB_NEO4J_FAIL: 'check' });
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stderr, /warning: database "neo4j" does not exist yet: there is no previous database to keep/);
    assert.match(
      bad.stderr,
      /recovery: "neo4j" did not exist before this restore, so there is no previous database to put back: the store of "neo4j" this restore wrote is left in place \(remove it if unwanted: .*\); started Neo4j/,
    );
    assert.ok(await n.running());
    await rm(join(n.store, '..'), { recursive: true });
    const ok = await n.restore({}, ['--json']);
    assert.equal(ok.code, 0, ok.stderr);
    const res = parseJson<{ result: { checked: boolean; previousBytes?: number; neo4j: string } }>(ok).result;
    assert.deepEqual([res.checked, res.previousBytes, res.neo4j], [true, undefined, 'running']);
  });

  it('Enterprise (database restore): a failed check puts the previous database back', async () => {
    const dir = await tempDir();
    const n = await backedUp({ edition: 'enterprise', service, enterprise: { workDir: join(dir, 'work') } });
    const r = await n.restore({ IGB_NEO4J_FAIL: 'check' });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, PUT_BACK);
    assert.ok((await n.calls()).some((c) => c.startsWith('neo4j-admin database restore --from-path=')));
    assert.deepEqual(await readFile(n.store), n.current);
    assert.ok(await n.running());
  });
});

describe('neo4j restore: the state Neo4j was found in', () => {
  it('found stopped: a successful restore leaves it stopped and says so; a failed one puts the old store back and leaves it stopped', async () => {
    const n = await backedUp();
    await n.ctl('stop');
    await n.clearCalls();
    const bad = await n.restore({ IGB_NEO4J_FAIL: 'check' });
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(
      bad.stderr,
      /Neo4j on \S+ is not running \(neo4j status\): it is not stopped, and it is left stopped afterwards, as found/,
    );
    assert.match(
      bad.stderr,
      /recovery: put the previous "neo4j" back \(loaded the copy taken before the restore\): ok; Neo4j was not running before and is left stopped/,
    );
    assert.deepEqual(await readFile(n.store), n.current);
    assert.equal(await n.running(), false);
    const ok = await n.restore({}, ['--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(
      ok.stderr,
      /Neo4j was not running before the restore and is left stopped \(start it with: neo4j start\)/,
    );
    assert.equal(parseJson<{ result: { neo4j: string } }>(ok).result.neo4j, 'stopped');
    assert.ok(!(await n.calls()).some((c) => c === 'neo4j start' || c === 'neo4j stop'), 'the service was touched');
    assert.equal(await n.running(), false);
  });
});

describe('neo4j restore: temp space for the copy', () => {
  it('preflight: a temp dir that cannot hold the backup and the copy is exit 2 before the download and the stop', async () => {
    const n = await backedUp();
    const mnt = join(n.dir, 'small');
    await mkdir(mnt);
    const r = await runWithSmallDisk(
      mnt,
      300,
      ['restore', 'neo4j', '--env', 'vm', '--latest', '--tmp-dir', mnt],
      n.dir,
      n.env(),
    );
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /not enough space in \S+ for the decompressed backup .* and a copy of the current database taken before it is replaced/,
    );
    assert.deepEqual(await n.calls(), []);
    assert.ok(await n.running());
  });

  it('a copy larger than estimated that does not fit: nothing loaded, the old store kept, Neo4j running, exit 1', async () => {
    const n = await backedUp();
    const big = randomBytes(900_000);
    await writeFile(n.store, big);
    const mnt = join(n.dir, 'small');
    await mkdir(mnt);
    const r = await runWithSmallDisk(
      mnt,
      700,
      ['restore', 'neo4j', '--env', 'vm', '--latest', '--tmp-dir', mnt],
      n.dir,
      n.env(),
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /could not keep a copy of the current "neo4j" before replacing it, so nothing was loaded: no space left in/,
    );
    assert.ok(!(await n.calls()).some((c) => c.includes('database load')));
    assert.deepEqual(await readFile(n.store), big);
    assert.ok(await n.running());
  });
});
