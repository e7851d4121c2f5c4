// Bad input is refused before anything runs: exit 2 with a message naming the problem and the fix.

import assert from 'node:assert/strict';
import { describe, it, before } from 'node:test';
import { runCli, tempDir, writeConfig } from '../helpers/cli.js';

// Storage and database point at closed ports: if anything ran, the error would be a connection error, not exit 2.
const unreachable = {
  envs: {
    prod: {
      protected: true,
      storage: { type: 's3', bucket: 'igb-never', endpoint: 'http://127.0.0.1:9', kmsKeyId: 'k' },
      postgres: { host: '127.0.0.1', port: 9, databases: ['app'], password: { env: 'NOPE_PW' } },
    },
  },
};

describe('bad input', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir();
  });

  it('malformed YAML: file, line and column', async () => {
    await writeConfig(dir, 'envs:\n  prod:\n    storage: {type: s3\n    bucket: x\n');
    const r = await runCli(['list', '--env', 'prod'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /igbackup\.yaml:\d+:\d+: YAML syntax error/);
  });

  it('missing required key and unknown key: key path and line', async () => {
    await writeConfig(dir, 'envs:\n  prod:\n    storage:\n      type: s3\n      kmsKeyId: k\n      bucketz: x\n');
    const r = await runCli(['list', '--env', 'prod'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /igbackup\.yaml:\d+: envs\.prod\.storage\.bucket: missing required key/);
    assert.match(r.stderr, /unknown key "bucketz"/);
    assert.match(r.stderr, /config\.example\.yaml/);
  });

  it('an inline password is rejected: secrets only by reference', async () => {
    await writeConfig(dir, {
      envs: { prod: { storage: { type: 'file', path: './s' }, postgres: { databases: ['a'], password: 'hunter2' } } },
    });
    const r = await runCli(['list', '--env', 'prod'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /envs\.prod\.postgres\.password/);
    assert.ok(!r.stderr.includes('hunter2'));
  });

  it('an env referring to an undefined tier', async () => {
    await writeConfig(dir, { envs: { prod: { tier: 'platinum', storage: { type: 'file', path: './s' } } } });
    const r = await runCli(['list', '--env', 'prod'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /envs\.prod\.tier: unknown tier "platinum"/);
  });

  it('unknown env lists the known ones', async () => {
    await writeConfig(dir, unreachable);
    const r = await runCli(['backup', 'postgres', '--env', 'prdo'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown env "prdo"/);
    assert.match(r.stderr, /use one of: prod/);
  });

  it('unknown engine and bad flag values are usage errors', async () => {
    await writeConfig(dir, unreachable);
    const e = await runCli(['backup', 'mysql', '--env', 'prod'], { cwd: dir });
    assert.equal(e.code, 2);
    assert.match(e.stderr, /Allowed choices are postgres/);
    const c = await runCli(['backup', 'postgres', '--env', 'prod', '--compression', 'lz4'], { cwd: dir });
    assert.equal(c.code, 2);
    assert.match(c.stderr, /use one of: zstd, gzip, none/);
    const j = await runCli(['restore', 'postgres', '--env', 'prod', '--latest', '--jobs', 'many'], { cwd: dir });
    assert.equal(j.code, 2);
  });

  it('--from outside the env prefix, with dot segments, or with no selection', async () => {
    await writeConfig(dir, unreachable);
    const outside = await runCli(['restore', 'postgres', '--env', 'prod', '--from', 'staging/postgres/app_1.dump.zst', '--yes'], { cwd: dir });
    assert.equal(outside.code, 2);
    assert.match(outside.stderr, /--from: key "staging\/postgres\/app_1\.dump\.zst" is outside "prod\/postgres\/"/);
    const dots = await runCli(['restore', 'postgres', '--env', 'prod', '--from', 'prod/postgres/../../x', '--yes'], { cwd: dir });
    assert.equal(dots.code, 2);
    const none = await runCli(['restore', 'postgres', '--env', 'prod', '--yes'], { cwd: dir });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--from KEY .* or --latest/);
  });

  it('an unset password variable is named before anything connects', async () => {
    await writeConfig(dir, { envs: { dev: { storage: { type: 'file', path: './s' }, postgres: { port: 9, databases: ['a'], password: { env: 'NOPE_PW' } } } } });
    const r = await runCli(['backup', 'postgres', '--env', 'dev'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /environment variable NOPE_PW is not set/);
  });

  it('no config file at all: says where it looked and how to start', async () => {
    const empty = await tempDir();
    const r = await runCli(['list', '--env', 'prod'], { cwd: empty, env: { HOME: empty } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no config file found/);
    assert.match(r.stderr, /config\.example\.yaml/);
  });

  it('--json errors are machine-readable', async () => {
    await writeConfig(dir, unreachable);
    const r = await runCli(['--json', 'backup', 'postgres', '--env', 'nope'], { cwd: dir });
    assert.equal(r.code, 2);
    const body = JSON.parse(r.stdout) as { ok: boolean; exitCode: number; error: { type: string } };
    assert.equal(body.ok, false);
    assert.equal(body.exitCode, 2);
    assert.equal(body.error.type, 'ConfigError');
  });
});
