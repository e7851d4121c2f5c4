// Nothing hangs: children whose descendants keep the pipes open, artifacts missing or short on restore and verify
// (every engine, both stores), and an S3 endpoint that stalls longer than the client's timeouts (a stalling proxy in
// front of the test S3, used by these tests only).

import assert from 'node:assert/strict';
import { chmod, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { ROOT, BIN, parseJson, pgSection, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import {
  assertNothingStored,
  dropDatabase,
  fingerprint,
  listKeys,
  makeBigDatabase,
  makeBucket,
  makeDatabase,
  pg,
  psql,
  s3,
  s3Client,
  sshServer,
  uniqueName,
} from '../helpers/servers.js';
import { fillRedis, startRedis } from '../helpers/redis.js';
import { running } from '../helpers/procs.js';
import { StallProxy } from '../helpers/stall-proxy.js';

const KUBE_BIN = join(ROOT, 'test', 'fixtures', 'kube');
const PGFAULT = join(ROOT, 'test', 'fixtures', 'pgfault');
const N4J = join(ROOT, 'test', 'fixtures', 'neo4j');

interface Timed {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs igbackup with a hard deadline far above what any case may take (a hang fails the test, not the suite). */
async function timed(args: string[], cwd: string, env: Record<string, string> = {}): Promise<Timed> {
  const t0 = Date.now();
  const r = await execa('node', [BIN, ...args], { cwd, env: { NO_COLOR: '1', TEST_PG_PASSWORD: pg.password, ...env }, reject: false, timeout: 120_000 });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), ms: Date.now() - t0 };
}


async function pidsIn(file: string): Promise<number[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map(Number);
}

/** No unhandled stream error (the old failure mode after a killed decompressor) ever reaches the operator. */
function noCrash(r: Timed): void {
  assert.doesNotMatch(r.stderr, /ERR_STREAM_PREMATURE_CLOSE|Unhandled|at .*\.js:\d+/, r.stderr);
}

describe('a child whose descendants keep its pipes open', () => {
  let dir: string;
  let db: string;
  let pods: string;

  before(async () => {
    dir = await tempDir();
    db = await makeDatabase(uniqueName('igb_hold'), 300);
    pods = join(dir, 'pods.json');
    const pod = { metadata: { name: 'pg-0', namespace: 'db', labels: { app: 'pg' } }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } };
    await writeFile(pods, JSON.stringify({ items: [pod] }));
  });
  after(async () => dropDatabase(db));

  for (const mode of ['group', 'setsid'] as const) {
    it(`kubectl leaving a descendant that holds stdout/stderr (${mode}): idle timeout, exit 1 promptly, lock gone`, async () => {
      const bucket = await makeBucket();
      const holders = join(dir, `kube-holders-${mode}`);
      await writeConfig(dir, {
        envs: { k8s: { storage: s3Storage(bucket), postgres: pgSection([db], { transport: { type: 'kubernetes', namespace: 'db', selector: 'app=pg', idleTimeoutSec: 2 } }) } },
      });
      const r = await timed(['backup', 'postgres', '--env', 'k8s'], dir, {
        PATH: `${KUBE_BIN}:${process.env.PATH}`,
        IGB_KUBE_PODS: pods,
        IGB_KUBECTL_HOLD_PIPES: mode,
        IGB_KUBECTL_FAULT_ONLY: '--format=custom',
        IGB_KUBECTL_HOLDER_PID: holders,
      });
      const pids = await pidsIn(holders);
      const survivors = pids.filter(running);
      for (const p of survivors) process.kill(p, 'SIGKILL');
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /no data from pod app=pg in namespace db for 2 s \(idle timeout\)/);
      assert.ok(r.ms < 30_000, `took ${r.ms} ms`);
      noCrash(r);
      await assertNothingStored(bucket); // no artifact, no manifest, no upload, and the lock object is gone
      assert.equal(pids.length, 1, 'the holder never started');
      // In kubectl's process group the holder is ended with it; a holder that left the group is cut off instead.
      assert.deepEqual(survivors.length, mode === 'group' ? 0 : 1);
    });
  }

  it('over SSH, a remote descendant holding the output: idle timeout, exit 1 promptly, nothing stored, lock gone', async () => {
    const bucket = await makeBucket();
    const log = '/tmp/igbackup-remote-holders.log';
    await writeFile(log, '', { flag: 'a' });
    await chmod(log, 0o666); // written by the SSH test user
    const [type, b64] = (await readFile(sshServer.hostPubFile, 'utf8')).trim().split(/\s+/);
    await writeFile(join(dir, 'known_hosts'), `[${sshServer.host}]:${sshServer.port} ${type} ${b64}\n`);
    const transport = { type: 'ssh', host: sshServer.host, port: sshServer.port, user: sshServer.user, identityFile: sshServer.key, knownHosts: join(dir, 'known_hosts'), idleTimeoutSec: 2 };
    await writeConfig(dir, { envs: { vm: { storage: s3Storage(bucket), postgres: pgSection([db], { transport, binDir: join(ROOT, 'test', 'fixtures', 'pgfault-remote') }) } } });
    const r = await timed(['backup', 'postgres', '--env', 'vm'], dir);
    const holders = (await readFile(log, 'utf8')).split('\n').filter((l) => l.includes(db)).map((l) => Number(l.split(' ')[0]));
    await new Promise((res) => setTimeout(res, 300));
    const survivors = holders.filter(running);
    for (const p of survivors) process.kill(p, 'SIGKILL');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /no data from ssh \S+ for 2 s \(idle timeout\)/);
    assert.ok(r.ms < 30_000, `took ${r.ms} ms`);
    noCrash(r);
    await assertNothingStored(bucket);
    assert.equal(holders.length, 1, 'the remote holder never started');
    assert.equal(survivors.length, 0, 'the remote command group was not signalled (OpenSSH killpg)');
  });

  for (const mode of ['hold-pipes', 'hold-pipes-setsid'] as const) {
    it(`a local producer that exits 0 while a descendant holds its output (${mode}): exit 1 promptly, nothing stored`, async () => {
      const bucket = await makeBucket();
      const holders = join(dir, `pg-holders-${mode}`);
      await writeConfig(dir, { envs: { ci: { storage: s3Storage(bucket), postgres: pgSection([db], { binDir: PGFAULT }) } } });
      const r = await timed(['backup', 'postgres', '--env', 'ci'], dir, { IGB_FAULT: mode, IGB_FAULT_PIDS: holders });
      const pids = await pidsIn(holders);
      const survivors = pids.filter(running);
      for (const p of survivors) process.kill(p, 'SIGKILL');
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /pg_dump failed:[\s\S]*its output was still held open 2 s after it exited \(by a process it started\)/);
      assert.ok(r.ms < 30_000, `took ${r.ms} ms`);
      noCrash(r);
      await assertNothingStored(bucket);
      assert.equal(pids.length, 1);
      assert.equal(survivors.length, mode === 'hold-pipes' ? 0 : 1);
    });
  }
});

/** The two stores, each able to lose or truncate an object behind igbackup's back. */
interface StoreCase {
  name: 's3' | 'file';
  storage: (dir: string) => Promise<Record<string, unknown>>;
  remove: (key: string) => Promise<void>;
  shorten: (key: string) => Promise<void>;
}

function storeCases(): StoreCase[] {
  let bucket = '';
  let root = '';
  return [
    {
      name: 's3',
      storage: async () => s3Storage((bucket = await makeBucket())),
      remove: async (key) => void (await s3Client().send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))),
      shorten: async (key) => {
        const o = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        const bytes = Buffer.from(await o.Body!.transformToByteArray());
        const body = bytes.subarray(0, Math.floor(bytes.length / 2));
        await s3Client().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: s3.kmsKeyId }));
      },
    },
    {
      name: 'file',
      storage: async (dir) => ({ type: 'file', path: (root = join(dir, `store-${uniqueName('f')}`)) }),
      remove: async (key) => rm(join(root, key)),
      shorten: async (key) => {
        const path = join(root, key);
        const size = (await readFile(path)).length;
        await truncate(path, Math.floor(size / 2));
      },
    },
  ];
}

describe('restore and verify when the manifest exists but the artifact is missing or short', () => {
  for (const store of storeCases()) {
    it(`postgres on ${store.name}: missing -> exit 4, short -> exit 3, every path exits promptly, the database untouched`, async () => {
      const dir = await tempDir();
      const db = await makeDatabase(uniqueName('igb_gone'), 500);
      await writeConfig(dir, { envs: { ci: { storage: await store.storage(dir), postgres: pgSection([db]) } } });
      const b = await runCli(['--json', 'backup', 'postgres', '--env', 'ci'], { cwd: dir });
      assert.equal(b.code, 0, b.stderr);
      const key = parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
      const before = await fingerprint(db);
      const runs = (): string[][] => [
        ['restore', 'postgres', '--env', 'ci', '--from', key, '--jobs', '1'],
        ['restore', 'postgres', '--env', 'ci', '--from', key, '--jobs', '2'], // decompress while downloading
        ['verify', 'postgres', '--env', 'ci', '--from', key],
      ];
      await store.shorten(key);
      for (const args of runs()) {
        const r = await timed(args, dir);
        assert.equal(r.code, 3, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, /does not match its manifest: size \d+ bytes, manifest says \d+/);
        assert.ok(r.ms < 60_000, `${args.join(' ')} took ${r.ms} ms`);
        noCrash(r);
      }
      await store.remove(key);
      for (const args of runs()) {
        const r = await timed(args, dir);
        assert.equal(r.code, 4, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, /no such object|no object at/);
        assert.ok(r.ms < 60_000, `${args.join(' ')} took ${r.ms} ms`);
        noCrash(r);
      }
      assert.equal(await fingerprint(db), before);
      assert.equal(await psql('postgres', `SELECT count(*) FROM pg_database WHERE datname LIKE '${db}__igb%'`), '0');
      await dropDatabase(db);
    });
  }

  it('redis: a missing artifact (file store) and a short one (S3) fail restore and verify promptly; Redis keeps its data', async () => {
    const [s3Case, fileCase] = storeCases() as [StoreCase, StoreCase];
    const r = await startRedis();
    await fillRedis(r, 200);
    const keys = await r.cli('DBSIZE');
    try {
      for (const [store, fault, code] of [[fileCase, 'remove', 4], [s3Case, 'shorten', 3]] as const) {
        const dir = await tempDir();
        await writeConfig(dir, { envs: { ci: { storage: await store.storage(dir), redis: { port: r.port, restore: { start: r.start, configFile: r.conf, loadTimeoutSec: 30 } } } } });
        const b = await runCli(['--json', 'backup', 'redis', '--env', 'ci'], { cwd: dir });
        assert.equal(b.code, 0, b.stderr);
        const key = parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
        await store[fault](key);
        for (const args of [['restore', 'redis', '--env', 'ci', '--from', key, '--yes'], ['verify', 'redis', '--env', 'ci', '--from', key]]) {
          const res = await timed(args, dir);
          assert.equal(res.code, code, `${store.name} ${fault} ${args[0]}: ${res.stderr}`);
          assert.ok(res.ms < 60_000, `took ${res.ms} ms`);
          noCrash(res);
        }
        assert.equal(await r.cli('DBSIZE'), keys);
      }
    } finally {
      await r.stop();
    }
  });

  it('neo4j (stand-ins): a missing artifact fails restore and verify with exit 4 before Neo4j is touched', async () => {
    const dir = await tempDir();
    const home = join(dir, 'neo4j-home');
    const log = join(dir, 'calls.log');
    const env = { PATH: `${N4J}:${process.env.PATH}`, IGB_NEO4J_HOME: home, IGB_NEO4J_LOG: log };
    await execa('mkdir', ['-p', join(home, 'data', 'databases', 'neo4j')]);
    await writeFile(join(home, 'data', 'databases', 'neo4j', 'store'), 'graph');
    await execa(join(N4J, 'neo4j'), ['start'], { env });
    const [, fileCase] = storeCases() as [StoreCase, StoreCase];
    const service = { stop: ['neo4j', 'stop'], start: ['neo4j', 'start'], status: ['neo4j', 'status'], readyTimeoutSec: 5, startAttempts: 3 };
    await writeConfig(dir, { envs: { vm: { storage: await fileCase.storage(dir), neo4j: { service } } } });
    const b = await runCli(['--json', 'backup', 'neo4j', '--env', 'vm'], { cwd: dir, env });
    assert.equal(b.code, 0, b.stderr);
    const key = parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
    await fileCase.remove(key);
    await writeFile(log, '');
    for (const args of [['restore', 'neo4j', '--env', 'vm', '--from', key, '--yes'], ['verify', 'neo4j', '--env', 'vm', '--from', key]]) {
      const r = await timed(args, dir, env);
      assert.equal(r.code, 4, `${args[0]}: ${r.stderr}`);
      assert.ok(r.ms < 60_000, `took ${r.ms} ms`);
      noCrash(r);
    }
    assert.deepEqual((await readFile(log, 'utf8')).split('\n').filter((l) => l && !l.startsWith('neo4j status')), [], 'Neo4j was touched');
  });
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
    s3Storage(bucket, { endpoint: proxy.endpoint, queueSize: 1, minPartSizeMiB: 5, idleTimeoutSec: 2, connectTimeoutSec: 2 });

  it('a part upload that stalls: exit 1 naming the endpoint, the upload aborted, nothing at the key, lock gone', async () => {
    const bucket = await makeBucket();
    const proxy = await StallProxy.start(s3.endpoint, [{ match: /^PUT \/[^?]+\.dump\?.*partNumber=2/, action: 'stall' }]);
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
    const proxy = await StallProxy.start(s3.endpoint, [{ match: new RegExp(`^GET /${bucket}/[^?]+\\.dump\\.zst(\\?x-id=GetObject)?$`), action: 'cut', afterBytes: 256 * 1024 }]);
    proxies.push(proxy);
    await writeConfig(dir, { envs: { ci: { storage: storage(bucket, proxy), postgres: pgSection([big]) } } });
    const scratch = uniqueName('igb_stall_r');
    for (const args of [['restore', 'postgres', '--env', 'ci', '--from', key, '--target-db', scratch, '--jobs', '2'], ['verify', 'postgres', '--env', 'ci', '--from', key]]) {
      const r = await timed(args, dir);
      assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, /read s3:\/\/\S+\.dump\.zst/);
      assert.ok(r.stderr.includes(proxy.endpoint), `endpoint not named: ${r.stderr}`);
      assert.ok(r.ms < 60_000, `${args[0]} took ${r.ms} ms`);
      noCrash(r);
    }
    assert.equal(await psql('postgres', `SELECT count(*) FROM pg_database WHERE datname LIKE '${scratch}%'`), '0');
    assert.deepEqual((await listKeys(bucket)).filter((k) => k.includes('/.igbackup/')), []);
  });
});
