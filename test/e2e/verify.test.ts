// `igbackup verify`: bytes against the manifest (stored and decompressed), then the engine's own reader over every
// byte; corruption is caught, and so is a dump cut short by a producer that exited 0 (its manifest consistent).

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { ROOT, parseJson, pgSection, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { makeBucket, makeDatabase, s3, s3Client, uniqueName } from '../helpers/servers.js';
import { fillRedis, startRedis } from '../helpers/redis.js';

interface VerifyJson {
  result: {
    nativeCheck: { tool: string; ok: boolean; detail: string };
    artifacts: { role: string }[];
    checks: { name: string; detail: string }[];
  };
}

interface ManifestJson {
  compression: string;
  artifacts: { role: string; key: string; bytes: number; sha256: string; rawBytes: number; rawSha256: string }[];
}

/** Reading and writing one store's objects behind igbackup's back, as a test. */
interface Raw {
  get(key: string): Promise<Buffer>;
  put(key: string, body: Buffer | string): Promise<void>;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function zstd(args: string[], input: Buffer): Promise<Buffer> {
  return Buffer.from((await execa('zstd', ['-q', ...args, '-c'], { input, encoding: 'buffer' })).stdout);
}

/**
 * Rewrites a stored backup as a producer that stopped early but exited 0 would have left it: the dump's bytes
 * changed by `edit`, compressed again, and a manifest whose sizes and sha256 (stored and raw) match those bytes.
 * Returns the new raw bytes.
 */
async function forge(raw: Raw, key: string, edit: (dump: Buffer) => Buffer): Promise<Buffer> {
  const manifest = JSON.parse((await raw.get(`${key}.manifest.json`)).toString()) as ManifestJson;
  const art = manifest.artifacts[0]!;
  assert.equal(manifest.compression, 'zstd');
  const dump = edit(await zstd(['-d'], await raw.get(key)));
  const stored = await zstd(['-1'], dump);
  manifest.artifacts[0] = {
    ...art,
    bytes: stored.length,
    sha256: sha(stored),
    rawBytes: dump.length,
    rawSha256: sha(dump),
  };
  await raw.put(key, stored);
  await raw.put(`${key}.manifest.json`, JSON.stringify(manifest));
  return dump;
}

function s3Raw(bucket: string): Raw {
  return { get: (key) => getObject(bucket, key), put: (key, body) => putObject(bucket, key, body) };
}

function fileRaw(root: string): Raw {
  return { get: (key) => readFile(join(root, key)), put: (key, body) => writeFile(join(root, key), body) };
}

async function getObject(bucket: string, key: string): Promise<Buffer> {
  const o = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await o.Body!.transformToByteArray());
}

async function putObject(bucket: string, key: string, body: Buffer | string): Promise<void> {
  await s3Client().send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: body,
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: s3.kmsKeyId,
    }),
  );
}

describe('verify', () => {
  it('postgres: passes pg_restore --list; a changed byte is caught (exit 3); a bad dump with a matching manifest is caught', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const db = await makeDatabase(uniqueName('igb_verify'), 300);
    await writeConfig(dir, {
      envs: { ci: { storage: s3Storage(bucket), postgres: pgSection([db], { globals: true }) } },
    });
    const b = await runCli(['--json', 'backup', 'postgres', '--env', 'ci'], { cwd: dir });
    assert.equal(b.code, 0, b.stderr);
    const key = parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
    const ok = await runCli(['--json', 'verify', 'postgres', '--env', 'ci', '--latest'], { cwd: dir });
    assert.equal(ok.code, 0, ok.stderr);
    const v = parseJson<VerifyJson>(ok).result;
    assert.equal(v.nativeCheck.ok, true);
    assert.match(
      v.nativeCheck.detail,
      /^table of contents: \d+ archive entries; every data block read and decoded \(2 table data/,
    );
    assert.deepEqual(
      v.artifacts.map((a) => a.role),
      ['dump', 'globals'],
    );
    assert.deepEqual(
      v.checks.map((c) => c.name),
      [
        'dump: as stored',
        'dump: as the producer wrote it',
        'globals: as stored',
        'globals: as the producer wrote it',
        'pg_restore',
        'Object Lock',
      ],
    );
    assert.match(v.checks.at(-1)?.detail ?? '', /^not locked \(storage\.immutability is not set\)/);
    assert.match(ok.stderr, /pg_restore --file=\/dev\/null/);

    const bytes = await getObject(bucket, key);
    bytes[100] = (bytes[100] as number) ^ 0x01;
    await putObject(bucket, key, bytes);
    const bad = await runCli(['verify', 'postgres', '--env', 'ci', '--from', key], { cwd: dir });
    assert.equal(bad.code, 3, bad.stderr);
    assert.match(bad.stderr, /does not match its manifest: sha256/);

    // Garbage whose manifest matches it: only the native check can tell.
    const garbage = randomBytes(5000);
    const manifest = JSON.parse((await getObject(bucket, `${key}.manifest.json`)).toString()) as ManifestJson;
    manifest.compression = 'none';
    const digest = { bytes: garbage.length, sha256: sha(garbage) };
    manifest.artifacts = [{ ...manifest.artifacts[0]!, ...digest, rawBytes: digest.bytes, rawSha256: digest.sha256 }];
    await putObject(bucket, key, garbage);
    await putObject(bucket, `${key}.manifest.json`, JSON.stringify(manifest));
    const forged = await runCli(['verify', 'postgres', '--env', 'ci', '--from', key], { cwd: dir });
    assert.equal(forged.code, 3, forged.stderr);
    assert.match(forged.stderr, /pg_restore --list rejects the artifact/);
  });

  it('postgres: a dump cut short by a producer that exited 0 fails verify (exit 3) on S3 and on the file store; the intact one passes', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const db = await makeDatabase(uniqueName('igb_verify_cut'), 3000);
    const root = join(dir, 'store');
    await writeConfig(dir, {
      envs: {
        s3: { storage: s3Storage(bucket), postgres: pgSection([db]) },
        file: { storage: { type: 'file', path: root }, postgres: pgSection([db]) },
      },
    });
    for (const [env, raw] of [
      ['s3', s3Raw(bucket)],
      ['file', fileRaw(root)],
    ] as const) {
      const b = await runCli(['--json', 'backup', 'postgres', '--env', env], { cwd: dir });
      assert.equal(b.code, 0, b.stderr);
      const key = parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
      const intact = await runCli(['verify', 'postgres', '--env', env, '--from', key], { cwd: dir });
      assert.equal(intact.code, 0, intact.stderr);
      assert.match(
        intact.stdout,
        /is restorable; checked:\n {2}dump: as stored: .*size and sha256 [0-9a-f]{16}… match the manifest/,
      );
      assert.match(intact.stdout, /dump: as the producer wrote it: decompressed \(zstd\): .* match the manifest/);
      assert.match(
        intact.stdout,
        /pg_restore: table of contents: \d+ archive entries; every data block read and decoded \(2 table data/,
      );

      const cut = await forge(raw, key, (dump) => dump.subarray(0, Math.floor(dump.length * 0.7)));
      // What the old check saw: the table of contents of the cut dump still lists fine.
      const cutPath = join(dir, `${env}-cut.dump`);
      await writeFile(cutPath, cut);
      assert.equal((await execa('pg_restore', ['--list', cutPath], { reject: false })).exitCode, 0);
      const bad = await runCli(['verify', 'postgres', '--env', env, '--from', key], { cwd: dir });
      assert.equal(bad.code, 3, bad.stderr);
      assert.match(
        bad.stderr,
        /pg_restore --file=\/dev\/null \(reading every data block\) rejects the artifact: pg_restore: error: could not read from input file: end of file/,
      );
      assert.match(bad.stderr, /cut short when it was taken/);
      assert.match(bad.stderr, /hint: its bytes match the manifest/);
    }
  });

  it('a stored artifact that decompresses to other bytes than the producer wrote is caught (exit 3)', async () => {
    const dir = await tempDir();
    const root = join(dir, 'store');
    const db = await makeDatabase(uniqueName('igb_verify_raw'), 50);
    await writeConfig(dir, { envs: { file: { storage: { type: 'file', path: root }, postgres: pgSection([db]) } } });
    const b = await runCli(['--json', 'backup', 'postgres', '--env', 'file'], { cwd: dir });
    assert.equal(b.code, 0, b.stderr);
    const key = parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
    const raw = fileRaw(root);
    const manifest = JSON.parse((await raw.get(`${key}.manifest.json`)).toString()) as ManifestJson;
    const stored = await zstd(['-1'], randomBytes(3000));
    manifest.artifacts[0] = { ...manifest.artifacts[0]!, bytes: stored.length, sha256: sha(stored) };
    await raw.put(key, stored);
    await raw.put(`${key}.manifest.json`, JSON.stringify(manifest));
    const r = await runCli(['verify', 'postgres', '--env', 'file', '--from', key], { cwd: dir });
    assert.equal(r.code, 3, r.stderr);
    assert.match(
      r.stderr,
      /decompressed \(zstd\) it is 3000 bytes with sha256 [0-9a-f]{64}, but the manifest says the producer wrote \d+ bytes/,
    );
  });

  it('redis: redis-check-rdb reads every record and the checksum; a cut RDB with a matching manifest is caught', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const r = await startRedis();
    await fillRedis(r, 100);
    await writeConfig(dir, { envs: { ci: { storage: s3Storage(bucket), redis: { port: r.port } } } });
    assert.equal((await runCli(['backup', 'redis', '--env', 'ci'], { cwd: dir })).code, 0);
    const ok = await runCli(['--json', 'verify', 'redis', '--env', 'ci', '--latest'], { cwd: dir });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(
      parseJson<VerifyJson>(ok).result.nativeCheck.detail,
      `every record parsed to the end of the file, ${await r.cli('DBSIZE')} keys read, CRC64 checksum OK`,
    );
    const key = parseJson<{ result: { key: string } }>(ok).result.key;
    await r.stop();
    // An RDB cut short, with a manifest that matches it: redis-check-rdb reads to the end and refuses it.
    await forge(s3Raw(bucket), key, (rdb) => rdb.subarray(0, rdb.length - 200));
    const cut = await runCli(['verify', 'redis', '--env', 'ci', '--from', key], { cwd: dir });
    assert.equal(cut.code, 3, cut.stderr);
    assert.match(cut.stderr, /redis-check-rdb rejects the artifact/);
  });

  it('neo4j: loads into a scratch NEO4J_HOME here and runs neo4j-admin database check (stand-in)', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const home = join(dir, 'home');
    await mkdir(join(home, 'data', 'databases', 'neo4j'), { recursive: true });
    await writeFile(join(home, 'data', 'databases', 'neo4j', 'store'), randomBytes(10_000));
    const n4j = join(ROOT, 'test', 'fixtures', 'neo4j');
    const env = { PATH: `${n4j}:${process.env.PATH}`, IGB_NEO4J_HOME: home };
    await execa(join(n4j, 'neo4j'), ['start'], { env });
    await writeConfig(dir, {
      envs: {
        ci: {
          storage: s3Storage(bucket),
          neo4j: {
            service: {
              stop: ['neo4j', 'stop'],
              start: ['neo4j', 'start'],
              status: ['neo4j', 'status'],
              readyTimeoutSec: 5,
            },
          },
        },
      },
    });
    assert.equal((await runCli(['backup', 'neo4j', '--env', 'ci'], { cwd: dir, env })).code, 0);
    const ok = await runCli(['--json', 'verify', 'neo4j', '--env', 'ci', '--latest'], { cwd: dir, env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(
      parseJson<VerifyJson>(ok).result.nativeCheck.detail,
      /^the whole dump loaded into a throwaway DBMS; consistency check: .*no issues found/,
    );
    const failing = await runCli(['verify', 'neo4j', '--env', 'ci', '--latest'], {
      cwd: dir,
      env: { ...env, IGB_NEO4J_FAIL: 'check' },
    });
    assert.equal(failing.code, 3, failing.stderr);
    assert.match(failing.stderr, /neo4j-admin database check rejects the artifact/);
  });
});
