// restore and verify when the manifest exists but the artifact is missing or short — every engine, both stores:
// the documented exit code (4 not found, 3 integrity), promptly, no unhandled stream error, the target untouched.

import assert from 'node:assert/strict';
import { readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { ROOT, parseJson, pgSection, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import {
  dropDatabase,
  fingerprint,
  makeBucket,
  makeDatabase,
  psql,
  s3,
  s3Client,
  uniqueName,
} from '../helpers/servers.js';
import { fillRedis, startRedis } from '../helpers/redis.js';
import { noCrash, timed } from '../helpers/timed.js';

const N4J = join(ROOT, 'test', 'fixtures', 'neo4j');

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
        await s3Client().send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            ServerSideEncryption: 'aws:kms',
            SSEKMSKeyId: s3.kmsKeyId,
          }),
        );
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
    it(`postgres on ${store.name}: missing or short -> not a complete backup, exit 3, every path exits promptly, the database untouched`, async () => {
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
        assert.match(r.stderr, /is not a complete backup:[\s\S]*has \d+ bytes in the store, the manifest says \d+/);
        assert.ok(r.ms < 60_000, `${args.join(' ')} took ${r.ms} ms`);
        noCrash(r);
      }
      await store.remove(key);
      for (const args of runs()) {
        const r = await timed(args, dir);
        assert.equal(r.code, 3, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, /is not a complete backup:[\s\S]*is missing from the store/);
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
      for (const [store, fault, code] of [
        [fileCase, 'remove', 3],
        [s3Case, 'shorten', 3],
      ] as const) {
        const dir = await tempDir();
        await writeConfig(dir, {
          envs: {
            ci: {
              storage: await store.storage(dir),
              redis: { port: r.port, restore: { start: r.start, configFile: r.conf, loadTimeoutSec: 30 } },
            },
          },
        });
        const b = await runCli(['--json', 'backup', 'redis', '--env', 'ci'], { cwd: dir });
        assert.equal(b.code, 0, b.stderr);
        const key = parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
        await store[fault](key);
        for (const args of [
          ['restore', 'redis', '--env', 'ci', '--from', key, '--yes'],
          ['verify', 'redis', '--env', 'ci', '--from', key],
        ]) {
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

  it('neo4j (stand-ins): a missing artifact fails restore and verify with exit 3 before Neo4j is touched', async () => {
    const dir = await tempDir();
    const home = join(dir, 'neo4j-home');
    const log = join(dir, 'calls.log');
    const env = { PATH: `${N4J}:${process.env.PATH}`, IGB_NEO4J_HOME: home, IGB_NEO4J_LOG: log };
    await execa('mkdir', ['-p', join(home, 'data', 'databases', 'neo4j')]);
    await writeFile(join(home, 'data', 'databases', 'neo4j', 'store'), 'graph');
    await execa(join(N4J, 'neo4j'), ['start'], { env });
    const [, fileCase] = storeCases() as [StoreCase, StoreCase];
    const service = {
      stop: ['neo4j', 'stop'],
      start: ['neo4j', 'start'],
      status: ['neo4j', 'status'],
      readyTimeoutSec: 5,
      startAttempts: 3,
    };
    await writeConfig(dir, { envs: { vm: { storage: await fileCase.storage(dir), neo4j: { service } } } });
    const b = await runCli(['--json', 'backup', 'neo4j', '--env', 'vm'], { cwd: dir, env });
    assert.equal(b.code, 0, b.stderr);
    const key = parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
    await fileCase.remove(key);
    await writeFile(log, '');
    for (const args of [
      ['restore', 'neo4j', '--env', 'vm', '--from', key, '--yes'],
      ['verify', 'neo4j', '--env', 'vm', '--from', key],
    ]) {
      const r = await timed(args, dir, env);
      assert.equal(r.code, 3, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, /is missing from the store/);
      assert.ok(r.ms < 60_000, `took ${r.ms} ms`);
      noCrash(r);
    }
    assert.deepEqual(
      (await readFile(log, 'utf8')).split('\n').filter((l) => l && !l.startsWith('neo4j status')),
      [],
      'Neo4j was touched',
    );
  });
});
