// `igbackup verify`: bytes against the manifest, then the native check, for each engine; corruption is caught.

import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { ROOT, parseJson, pgSection, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { makeBucket, makeDatabase, s3, s3Client, uniqueName } from '../helpers/servers.js';
import { fillRedis, startRedis } from '../helpers/redis.js';

interface VerifyJson {
  result: { nativeCheck: { tool: string; ok: boolean; detail: string }; artifacts: { role: string }[] };
}

async function getObject(bucket: string, key: string): Promise<Buffer> {
  const o = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await o.Body!.transformToByteArray());
}

async function putObject(bucket: string, key: string, body: Buffer | string): Promise<void> {
  await s3Client().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ServerSideEncryption: 'aws:kms', SSEKMSKeyId: s3.kmsKeyId }));
}

describe('verify', () => {
  it('postgres: passes pg_restore --list; a changed byte is caught (exit 3); a bad dump with a matching manifest is caught', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const db = await makeDatabase(uniqueName('igb_verify'), 300);
    await writeConfig(dir, { envs: { ci: { storage: s3Storage(bucket), postgres: pgSection([db], { globals: true }) } } });
    const b = await runCli(['--json', 'backup', 'postgres', '--env', 'ci'], { cwd: dir });
    assert.equal(b.code, 0, b.stderr);
    const key = parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
    const ok = await runCli(['--json', 'verify', 'postgres', '--env', 'ci', '--latest'], { cwd: dir });
    assert.equal(ok.code, 0, ok.stderr);
    const v = parseJson<VerifyJson>(ok).result;
    assert.equal(v.nativeCheck.ok, true);
    assert.match(v.nativeCheck.detail, /^\d+ archive entries$/);
    assert.deepEqual(v.artifacts.map((a) => a.role), ['dump', 'globals']);

    const bytes = await getObject(bucket, key);
    bytes[100] = (bytes[100] as number) ^ 0x01;
    await putObject(bucket, key, bytes);
    const bad = await runCli(['verify', 'postgres', '--env', 'ci', '--from', key], { cwd: dir });
    assert.equal(bad.code, 3, bad.stderr);
    assert.match(bad.stderr, /does not match its manifest: sha256/);

    // Garbage whose manifest matches it: only the native check can tell.
    const garbage = randomBytes(5000);
    const manifest = JSON.parse((await getObject(bucket, `${key}.manifest.json`)).toString()) as { compression: string; artifacts: Record<string, unknown>[] };
    manifest.compression = 'none';
    manifest.artifacts = [{ ...manifest.artifacts[0], bytes: garbage.length, sha256: createHash('sha256').update(garbage).digest('hex') }];
    await putObject(bucket, key, garbage);
    await putObject(bucket, `${key}.manifest.json`, JSON.stringify(manifest));
    const forged = await runCli(['verify', 'postgres', '--env', 'ci', '--from', key], { cwd: dir });
    assert.equal(forged.code, 3, forged.stderr);
    assert.match(forged.stderr, /pg_restore --list rejects the artifact/);
  });

  it('redis: redis-check-rdb reads every key', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const r = await startRedis();
    await fillRedis(r, 100);
    await writeConfig(dir, { envs: { ci: { storage: s3Storage(bucket), redis: { port: r.port } } } });
    assert.equal((await runCli(['backup', 'redis', '--env', 'ci'], { cwd: dir })).code, 0);
    const ok = await runCli(['--json', 'verify', 'redis', '--env', 'ci', '--latest'], { cwd: dir });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(parseJson<VerifyJson>(ok).result.nativeCheck.detail, `${await r.cli('DBSIZE')} keys read`);
    await r.stop();
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
    await writeConfig(dir, { envs: { ci: { storage: s3Storage(bucket), neo4j: { service: { stop: ['neo4j', 'stop'], start: ['neo4j', 'start'], status: ['neo4j', 'status'], readyTimeoutSec: 5 } } } } });
    assert.equal((await runCli(['backup', 'neo4j', '--env', 'ci'], { cwd: dir, env })).code, 0);
    const ok = await runCli(['--json', 'verify', 'neo4j', '--env', 'ci', '--latest'], { cwd: dir, env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(parseJson<VerifyJson>(ok).result.nativeCheck.detail, /no issues found/);
    const failing = await runCli(['verify', 'neo4j', '--env', 'ci', '--latest'], { cwd: dir, env: { ...env, IGB_NEO4J_FAIL: 'check' } });
    assert.equal(failing.code, 3, failing.stderr);
    assert.match(failing.stderr, /neo4j-admin database check rejects the artifact/);
  });
});
