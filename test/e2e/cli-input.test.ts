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

  it('flags that do not apply to the engine: exit 2 naming each and the engines it is for, before anything runs', async () => {
    await writeConfig(dir, unreachable);
    const cases: [string[], RegExp][] = [
      [
        ['restore', 'redis', '--env', 'prod', '--latest', '--target-db', 'x', '--no-owner'],
        /these flags do not apply to restore redis: --target-db \(postgres only\), --no-owner \(postgres only\)/,
      ],
      [
        ['restore', 'neo4j', '--env', 'prod', '--latest', '--with-globals'],
        /this flag does not apply to restore neo4j: --with-globals \(postgres only\)/,
      ],
      [
        ['backup', 'neo4j', '--env', 'prod', '--mode', 'bgsave'],
        /does not apply to backup neo4j: --mode \(redis only\)/,
      ],
      [
        ['backup', 'redis', '--env', 'prod', '-d', 'app'],
        /does not apply to backup redis: --database \(postgres, neo4j only\)/,
      ],
      [
        ['backup', 'redis', '--env', 'prod', '--no-globals'],
        /does not apply to backup redis: --no-globals \(postgres only\)/,
      ],
      [
        ['verify', 'postgres', '--env', 'prod', '--physical', '--from', 'k', '--tmp-dir', '/tmp'],
        /these flags do not apply to verify --physical postgres: --from \(not with --physical\), --tmp-dir \(not with --physical\)/,
      ],
      [
        ['drill', 'postgres', '--env', 'prod', '--physical', '-d', 'app'],
        /this flag does not apply to drill --physical postgres: --database \(not with --physical\)/,
      ],
      [
        ['drill', 'redis', '--env', 'prod', '--to', '2026-01-01T00:00:00Z'],
        /this flag does not apply to drill redis: --to \(postgres --physical only\)/,
      ],
      [
        ['drill', 'all', '--env', 'prod', '--to', '2026-01-01T00:00:00Z'],
        /--to applies to drill postgres --physical only/,
      ],
      [['verify', 'redis', '--env', 'prod', '--physical'], /--physical applies to postgres only/],
    ];
    for (const [args, says] of cases) {
      const r = await runCli(args, { cwd: dir });
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, says);
    }
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

  it('every numeric flag: decimal digits within its documented range, else exit 2 before anything runs', async () => {
    await writeConfig(dir, unreachable);
    const flags: [string[], string, [number, number], string[]][] = [
      [
        ['restore', 'postgres', '--env', 'prod', '--latest', '--yes'],
        '--jobs',
        [1, 64],
        ['1e3', '0x10', '1.5', ' 2', '100000', '0', '65', '-1', ''],
      ],
      [['restore', 'postgres', '--env', 'prod', '--latest', '--yes'], '-j', [1, 64], ['1e3', '2 ']],
      [
        ['restore', 'postgres', '--env', 'prod', '--latest', '--yes'],
        '--wait-timeout',
        [1, 4320],
        ['0', '4321', '1e2', '0x10'],
      ],
      [['verify', 'postgres', '--env', 'prod', '--latest'], '--wait-timeout', [1, 4320], ['0', '99999', '2.5']],
      [['prune', '--env', 'prod'], '--keep-last', [1, 10000], ['0', '10001', '1.5', '1e3']],
      [['prune', '--env', 'prod'], '--keep-days', [0, 36500], ['-1', '36501', '7d', '+7']],
    ];
    for (const [command, flag, [min, max], values] of flags) {
      for (const value of values) {
        const r = await runCli([...command, flag, value], { cwd: dir });
        assert.equal(r.code, 2, `${command.join(' ')} ${flag} "${value}": exit ${r.code}\n${r.stderr}`);
        assert.match(r.stderr, new RegExp(`expected a whole number from ${min} to ${max}`), `${flag} "${value}"`);
        assert.doesNotMatch(r.stderr, /S3 endpoint|127\.0\.0\.1:9/, 'something ran');
      }
    }
    // In range, the same commands go on to the (unreachable) store: the refusals above were the flags'.
    for (const [command, flag, [, max]] of flags) {
      const r = await runCli([...command, flag, String(max)], { cwd: dir });
      assert.equal(r.code, 1, `${command.join(' ')} ${flag} ${max}: ${r.stderr}`);
      assert.match(r.stderr, /cannot reach the S3 endpoint http:\/\/127\.0\.0\.1:9/);
    }
  });

  it('--jobs > 1 over SSH or Kubernetes is refused (pg_restore reads a stream there), before anything runs', async () => {
    for (const transport of [
      { type: 'ssh', host: '127.0.0.1', port: 9, user: 'u', identityFile: '/dev/null' },
      { type: 'kubernetes', pod: 'p', kubectl: '/nonexistent/kubectl' },
    ]) {
      await writeConfig(dir, {
        envs: { prod: { ...unreachable.envs.prod, postgres: { ...unreachable.envs.prod.postgres, transport } } },
      });
      const r = await runCli(['restore', 'postgres', '--env', 'prod', '--latest', '--yes', '--jobs', '4'], {
        cwd: dir,
        env: { NOPE_PW: 'x' },
      });
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `--jobs 4 cannot be honoured over the ${transport.type} transport: there pg_restore reads the archive as a stream on its stdin`,
        ),
      );
      assert.match(r.stderr, /hint: omit --jobs \(or pass --jobs 1\)/);
      const one = await runCli(['restore', 'postgres', '--env', 'prod', '--latest', '--yes', '--jobs', '1'], {
        cwd: dir,
        env: { NOPE_PW: 'x' },
      });
      assert.equal(one.code, 1, one.stderr);
      assert.match(one.stderr, /cannot reach the S3 endpoint/);
    }
  });

  it('numeric config settings: ranges and decimal notation, with key path and line', async () => {
    await writeConfig(
      dir,
      'envs:\n  prod:\n    retention: { keepLast: 1e3, keepDays: 0x10 }\n    storage: { type: file, path: ./s }\n    postgres: { databases: [a], restoreJobs: 100, port: 70000 }\n',
    );
    const r = await runCli(['list', '--env', 'prod'], { cwd: dir });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /igbackup\.yaml:3: envs\.prod\.retention\.keepLast: "1e3" is not a plain decimal number; write it with decimal digits only \(it reads as 1000\)/,
    );
    assert.match(r.stderr, /igbackup\.yaml:3: envs\.prod\.retention\.keepDays: "0x10" is not a plain decimal number/);
    assert.match(r.stderr, /igbackup\.yaml:5: envs\.prod\.postgres\.restoreJobs: /);
    assert.match(r.stderr, /envs\.prod\.postgres\.port: Too big: expected number to be <=65535/);
    await writeConfig(dir, {
      envs: {
        prod: {
          storage: { type: 'file', path: './s' },
          postgres: { databases: ['a'], restoreJobs: 4, transport: { type: 'kubernetes', pod: 'p' } },
        },
      },
    });
    const remote = await runCli(['list', '--env', 'prod'], { cwd: dir });
    assert.equal(remote.code, 2, remote.stderr);
    assert.match(
      remote.stderr,
      /envs\.prod\.postgres\.restoreJobs: 4 parallel jobs need pg_restore to read a file on the machine where it runs; over kubernetes it reads the stream on its stdin, one job at a time: set restoreJobs: 1 or auto/,
    );
  });

  it('--from outside the env prefix, with dot segments, or with no selection', async () => {
    await writeConfig(dir, unreachable);
    const outside = await runCli(
      ['restore', 'postgres', '--env', 'prod', '--from', 'staging/postgres/app_1.dump.zst', '--yes'],
      { cwd: dir },
    );
    assert.equal(outside.code, 2);
    assert.match(outside.stderr, /--from: key "staging\/postgres\/app_1\.dump\.zst" is outside "prod\/postgres\/"/);
    const dots = await runCli(['restore', 'postgres', '--env', 'prod', '--from', 'prod/postgres/../../x', '--yes'], {
      cwd: dir,
    });
    assert.equal(dots.code, 2);
    const none = await runCli(['restore', 'postgres', '--env', 'prod', '--yes'], { cwd: dir });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /--from KEY .* or --latest/);
  });

  it('an unset password variable is named before anything connects', async () => {
    await writeConfig(dir, {
      envs: {
        dev: {
          storage: { type: 'file', path: './s' },
          postgres: { port: 9, databases: ['a'], password: { env: 'NOPE_PW' } },
        },
      },
    });
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
