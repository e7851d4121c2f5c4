// Nothing hangs: children whose descendants keep the pipes open (kubectl, SSH, a local producer), and an S3 endpoint
// that stalls longer than the client's timeouts (a stalling proxy in front of the test S3, used by these tests only).
// Missing and short artifacts: missing-artifact.test.ts.

import assert from 'node:assert/strict';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeReadyPod } from '../helpers/kube.js';
import { ROOT, parseJson, pgSection, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import {
  assertNothingStored,
  dropDatabase,
  listKeys,
  makeBigDatabase,
  makeBucket,
  makeDatabase,
  psql,
  knownHostsFile,
  s3,
  sshTransport,
  uniqueName,
} from '../helpers/servers.js';
import { survivors } from '../helpers/procs.js';
import { StallProxy } from '../helpers/stall-proxy.js';
import { noCrash, pidsIn, timed } from '../helpers/timed.js';

const KUBE_BIN = join(ROOT, 'test', 'fixtures', 'kube');
const PGFAULT = join(ROOT, 'test', 'fixtures', 'pgfault');

describe('a child whose descendants keep its pipes open', () => {
  let dir: string;
  let db: string;
  let pods: string;

  before(async () => {
    dir = await tempDir();
    db = await makeDatabase(uniqueName('igb_hold'), 300);
    pods = await writeReadyPod(dir);
  });
  after(async () => dropDatabase(db));

  for (const mode of ['group', 'setsid'] as const) {
    it(`kubectl leaving a descendant that holds stdout/stderr (${mode}): idle timeout, exit 1 promptly, lock gone`, async () => {
      const bucket = await makeBucket();
      const holders = join(dir, `kube-holders-${mode}`);
      await writeConfig(dir, {
        envs: {
          k8s: {
            storage: s3Storage(bucket),
            postgres: pgSection([db], {
              transport: { type: 'kubernetes', namespace: 'db', selector: 'app=pg', idleTimeoutSec: 2 },
            }),
          },
        },
      });
      const r = await timed(['backup', 'postgres', '--env', 'k8s'], dir, {
        PATH: `${KUBE_BIN}:${process.env.PATH}`,
        IGB_KUBE_PODS: pods,
        IGB_KUBECTL_HOLD_PIPES: mode,
        IGB_KUBECTL_FAULT_ONLY: '--format=custom',
        IGB_KUBECTL_HOLDER_PID: holders,
      });
      const pids = await pidsIn(holders);
      const left = await survivors(pids);
      for (const p of left) process.kill(p, 'SIGKILL');
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /no data from pod app=pg in namespace db for 2 s \(idle timeout\)/);
      assert.ok(r.ms < 30_000, `took ${r.ms} ms`);
      noCrash(r);
      await assertNothingStored(bucket); // no artifact, no manifest, no upload, and the lock object is gone
      assert.equal(pids.length, 1, 'the holder never started');
      // In kubectl's process group the holder is ended with it; a holder that left the group is cut off instead.
      assert.deepEqual(left.length, mode === 'group' ? 0 : 1);
    });
  }

  it('over SSH, a remote descendant holding the output: idle timeout, exit 1 promptly, nothing stored, lock gone', async () => {
    const bucket = await makeBucket();
    const log = '/tmp/igbackup-remote-holders.log';
    await writeFile(log, '', { flag: 'a' });
    await chmod(log, 0o666); // written by the SSH test user
    await knownHostsFile(dir);
    const transport = sshTransport(dir, { idleTimeoutSec: 2 });
    await writeConfig(dir, {
      envs: {
        vm: {
          storage: s3Storage(bucket),
          postgres: pgSection([db], { transport, binDir: join(ROOT, 'test', 'fixtures', 'pgfault-remote') }),
        },
      },
    });
    const r = await timed(['backup', 'postgres', '--env', 'vm'], dir);
    const holders = (await readFile(log, 'utf8'))
      .split('\n')
      .filter((l) => l.includes(db))
      .map((l) => Number(l.split(' ')[0]));
    const left = await survivors(holders);
    for (const p of left) process.kill(p, 'SIGKILL');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /no data from ssh \S+ for 2 s \(idle timeout\)/);
    assert.ok(r.ms < 30_000, `took ${r.ms} ms`);
    noCrash(r);
    await assertNothingStored(bucket);
    assert.equal(holders.length, 1, 'the remote holder never started');
    assert.equal(left.length, 0, 'the remote command group was not signalled (OpenSSH killpg)');
  });

  for (const mode of ['hold-pipes', 'hold-pipes-setsid'] as const) {
    it(`a local producer that exits 0 while a descendant holds its output (${mode}): exit 1 promptly, nothing stored`, async () => {
      const bucket = await makeBucket();
      const holders = join(dir, `pg-holders-${mode}`);
      await writeConfig(dir, {
        envs: { ci: { storage: s3Storage(bucket), postgres: pgSection([db], { binDir: PGFAULT }) } },
      });
      const r = await timed(['backup', 'postgres', '--env', 'ci'], dir, { IGB_FAULT: mode, IGB_FAULT_PIDS: holders });
      const pids = await pidsIn(holders);
      const left = await survivors(pids);
      for (const p of left) process.kill(p, 'SIGKILL');
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /pg_dump was stopped by igbackup[\s\S]*its output was still held open 2 s after it exited \(by a process it started\)/,
      );
      assert.ok(r.ms < 30_000, `took ${r.ms} ms`);
      noCrash(r);
      await assertNothingStored(bucket);
      assert.equal(pids.length, 1);
      assert.equal(left.length, mode === 'hold-pipes' ? 0 : 1);
    });
  }
});

describe('an S3 endpoint that stalls longer than the client timeouts (stalling proxy)', () => {
  let proxies: StallProxy[] = [];
  let big: string;
  after(async () => {
    for (const p of proxies) await p.close();
    proxies = [];
    if (big) await psql('postgres', `DROP DATABASE IF EXISTS ${big} WITH (FORCE)`);
  });
  before(async () => {
    big = await makeBigDatabase('igb_stall', 200_000); // ~14 MB: three 5 MiB parts
  });

  const storage = (bucket: string, proxy: StallProxy): Record<string, unknown> =>
    s3Storage(bucket, {
      endpoint: proxy.endpoint,
      queueSize: 1,
      minPartSizeMiB: 5,
      idleTimeoutSec: 2,
      connectTimeoutSec: 2,
    });

  it('a part upload that stalls: exit 1 naming the endpoint, the upload aborted, nothing at the key, lock gone', async () => {
    const bucket = await makeBucket();
    const proxy = await StallProxy.start(s3.endpoint, [
      { match: /^PUT \/[^?]+\.dump\?.*partNumber=2/, action: 'stall' },
    ]);
    proxies.push(proxy);
    const dir = await tempDir();
    await writeConfig(dir, { envs: { ci: { storage: storage(bucket, proxy), postgres: pgSection([big]) } } });
    const r = await timed(['backup', 'postgres', '--env', 'ci', '--compression', 'none'], dir);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(r.stderr.includes(proxy.endpoint), `endpoint not named: ${r.stderr}`);
    assert.match(r.stderr, /the write to s3:\/\/\S+\.dump left nothing behind/);
    assert.ok(r.ms < 90_000, `took ${r.ms} ms`);
    assert.ok(proxy.seen.filter((l) => /partNumber=2/.test(l)).length >= 2, 'the stalled part was not retried');
    noCrash(r);
    await assertNothingStored(bucket);
  });

  it('a download that stops mid-body: restore and verify exit 1 naming the endpoint, promptly; the database untouched', async () => {
    const bucket = await makeBucket();
    const dir = await tempDir();
    await writeConfig(dir, { envs: { ci: { storage: s3Storage(bucket), postgres: pgSection([big]) } } });
    const b = await runCli(['--json', 'backup', 'postgres', '--env', 'ci'], { cwd: dir });
    assert.equal(b.code, 0, b.stderr);
    const key = parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
    const proxy = await StallProxy.start(s3.endpoint, [
      {
        match: new RegExp(`^GET /${bucket}/[^?]+\\.dump\\.zst(\\?x-id=GetObject)?$`),
        action: 'cut',
        afterBytes: 256 * 1024,
      },
    ]);
    proxies.push(proxy);
    await writeConfig(dir, { envs: { ci: { storage: storage(bucket, proxy), postgres: pgSection([big]) } } });
    const scratch = uniqueName('igb_stall_r');
    for (const args of [
      ['restore', 'postgres', '--env', 'ci', '--from', key, '--target-db', scratch, '--jobs', '2'],
      ['verify', 'postgres', '--env', 'ci', '--from', key],
    ]) {
      const r = await timed(args, dir);
      assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, /read s3:\/\/\S+\.dump\.zst/);
      assert.ok(r.stderr.includes(proxy.endpoint), `endpoint not named: ${r.stderr}`);
      assert.ok(r.ms < 60_000, `${args[0]} took ${r.ms} ms`);
      noCrash(r);
    }
    assert.equal(await psql('postgres', `SELECT count(*) FROM pg_database WHERE datname LIKE '${scratch}%'`), '0');
    assert.deepEqual(
      (await listKeys(bucket)).filter((k) => k.includes('/.igbackup/')),
      [],
    );
  });
});
