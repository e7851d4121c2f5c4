// What the operator reads when something outside igbackup fails: each message names the real cause and the fix
// (a producer killed by a signal, a broken SSH/kubectl channel, no AWS credentials, a full temp dir, a bug).

import assert from 'node:assert/strict';
import { writeReadyPod } from '../helpers/kube.js';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fingerprint } from '../../src/transports/known-hosts.js';
import { ROOT, parseJson, pgSection, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { assertNothingStored, makeBucket, makeDatabase, psql, sshServer, uniqueName } from '../helpers/servers.js';
import { runWithSmallDisk } from '../helpers/small-disk.js';

const KUBE_BIN = join(ROOT, 'test', 'fixtures', 'kube');
const PGKILL = join(ROOT, 'test', 'fixtures', 'pgkill');

/** No credentials anywhere in the AWS chain, and no instance-metadata lookups (never any traffic off 127.0.0.1). */
const NO_AWS = {
  AWS_ACCESS_KEY_ID: '',
  AWS_SECRET_ACCESS_KEY: '',
  AWS_SESSION_TOKEN: '',
  AWS_PROFILE: '',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/igb-credentials',
  AWS_CONFIG_FILE: '/nonexistent/igb-config',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '',
  AWS_CONTAINER_CREDENTIALS_FULL_URI: '',
  AWS_WEB_IDENTITY_TOKEN_FILE: '',
};

describe('messages name the real cause', () => {
  let dir: string;
  let db: string;
  before(async () => {
    dir = await tempDir();
    db = await makeDatabase(uniqueName('igb_msg'), 2000);
  });

  it('pg_dump killed by SIGKILL: says so and why that happens, not "check that the database exists"; nothing stored', async () => {
    const bucket = await makeBucket();
    await writeConfig(dir, {
      envs: { ci: { storage: s3Storage(bucket), postgres: pgSection([db], { binDir: PGKILL }) } },
    });
    const r = await runCli(['backup', 'postgres', '--env', 'ci'], { cwd: dir });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /error: pg_dump was killed by SIGKILL/);
    assert.match(r.stderr, /hint: SIGKILL comes from outside the program: usually the out-of-memory killer/);
    assert.doesNotMatch(r.stderr, /check that database/);
    await assertNothingStored(bucket);
  });

  it('pg_dump killed by SIGKILL inside a pod (kubectl exec reports 137): the same diagnosis, naming the pod', async () => {
    const bucket = await makeBucket();
    const pods = await writeReadyPod(dir);
    await writeConfig(dir, {
      envs: {
        k8s: {
          storage: s3Storage(bucket),
          postgres: pgSection([db], {
            binDir: PGKILL,
            transport: { type: 'kubernetes', namespace: 'db', pod: 'pg-0' },
          }),
        },
      },
    });
    const r = await runCli(['backup', 'postgres', '--env', 'k8s'], {
      cwd: dir,
      env: { PATH: `${KUBE_BIN}:${process.env.PATH}`, IGB_KUBE_PODS: pods },
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /error: pg_dump exited with code 137 \(128 \+ 9: killed by SIGKILL\) on pod pg-0 in namespace db/,
    );
    assert.match(r.stderr, /hint: SIGKILL comes from outside the program/);
    assert.doesNotMatch(r.stderr, /check that database/);
    await assertNothingStored(bucket);
  });

  it('kubectl failing before the command runs (pod not found) is a transport failure naming the pod, not "install pg_dump"', async () => {
    const pods = join(dir, 'pods.json');
    await writeConfig(dir, {
      envs: {
        k8s: {
          storage: { type: 'file', path: join(dir, 'store') },
          postgres: pgSection([db], { transport: { type: 'kubernetes', namespace: 'db', pod: 'pg-gone' } }),
        },
      },
    });
    const r = await runCli(['backup', 'postgres', '--env', 'k8s'], {
      cwd: dir,
      env: { PATH: `${KUBE_BIN}:${process.env.PATH}`, IGB_KUBE_PODS: pods },
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /error: pg_dump could not be run on pod pg-gone in namespace db \(transport failure: the channel exited 1 before the command reported its status\)/,
    );
    assert.match(r.stderr, /pods "pg-gone" not found/);
    assert.match(
      r.stderr,
      /hint: this is the connection to pod pg-gone in namespace db, not pg_dump: check that the pod exists/,
    );
    assert.doesNotMatch(r.stderr, /install the PostgreSQL client/);
  });

  it('SSH connection refused and SSH authentication failed: transport failures naming the host, not "install pg_dump"', async () => {
    const base = {
      type: 'ssh',
      host: sshServer.host,
      identityFile: sshServer.key,
      hostKeyFingerprint: `SHA256:${'A'.repeat(43)}`,
    };
    await writeConfig(dir, {
      envs: {
        vm: {
          storage: { type: 'file', path: join(dir, 'store') },
          postgres: pgSection([db], { transport: { ...base, port: 9, user: sshServer.user, connectTimeoutSec: 5 } }),
        },
      },
    });
    const refused = await runCli(['backup', 'postgres', '--env', 'vm'], { cwd: dir });
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(
      refused.stderr,
      /error: pg_dump could not be run on ssh igb[^ ]*@127\.0\.0\.1:9 \(transport failure: .*ECONNREFUSED/,
    );
    assert.match(
      refused.stderr,
      /hint: this is the connection to ssh .*@127\.0\.0\.1:9, not pg_dump: check that the host is reachable/,
    );
    assert.doesNotMatch(refused.stderr, /install the PostgreSQL client/);

    const [, b64] = (await readFile(sshServer.hostPubFile, 'utf8')).trim().split(/\s+/) as [string, string];
    const fp = fingerprint(Buffer.from(b64, 'base64'));
    await writeConfig(dir, {
      envs: {
        vm: {
          storage: { type: 'file', path: join(dir, 'store') },
          postgres: pgSection([db], {
            transport: { ...base, port: sshServer.port, user: 'igb-nobody', hostKeyFingerprint: fp },
          }),
        },
      },
    });
    const denied = await runCli(['backup', 'postgres', '--env', 'vm'], { cwd: dir });
    assert.equal(denied.code, 1, denied.stderr);
    assert.match(
      denied.stderr,
      new RegExp(
        `error: pg_dump could not be run on ssh igb-nobody@127\\.0\\.0\\.1:${sshServer.port} \\(transport failure: .*authentication`,
        'i',
      ),
    );
    assert.doesNotMatch(denied.stderr, /install the PostgreSQL client/);
  });

  it('no AWS credentials anywhere: exit 2 before anything runs, naming the variables and the profile to set', async () => {
    await writeConfig(dir, { envs: { ci: { storage: s3Storage('igb-no-credentials'), postgres: pgSection([db]) } } });
    const r = await runCli(['--json', 'backup', 'postgres', '--env', 'ci'], { cwd: dir, env: NO_AWS });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /no AWS credentials found/);
    assert.match(
      r.stderr,
      /hint: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY .*AWS_PROFILE or the env's storage\.profile/,
    );
    assert.equal(parseJson<{ error: { type: string } }>(r).error.type, 'ConfigError');
    const dumps = await psql(
      'postgres',
      `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump' AND datname = '${db}'`,
    );
    assert.equal(dumps, '0');
  });

  it('a temp dir too small: names the directory, the space needed and the alternatives before downloading; nothing restored', async () => {
    const bucket = await makeBucket();
    await writeConfig(dir, { envs: { ci: { storage: s3Storage(bucket), postgres: pgSection([db]) } } });
    const b = await runCli(['--json', 'backup', 'postgres', '--env', 'ci'], { cwd: dir });
    assert.equal(b.code, 0, b.stderr);
    const { key, bytes, rawBytes } = parseJson<{ results: { key: string; bytes: number; rawBytes: number }[] }>(b)
      .results[0]!;
    const small = join(dir, 'small');
    await mkdir(small);
    const sizeKiB = Math.ceil((bytes + rawBytes) / 2 / 1024); // room for the compressed artifact, not the decompressed one
    const target = uniqueName('igb_msg_r').replace(/-/g, '_');
    const r = await runWithSmallDisk(
      small,
      sizeKiB,
      ['restore', 'postgres', '--env', 'ci', '--from', key, '--target-db', target, '--jobs', '2', '--tmp-dir', small],
      dir,
    );
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `error: not enough space in ${small} for the decompressed archive \\(pg_restore --jobs 2 reads a seekable file\\): [\\d.]+ [KM]iB needed, [\\d.]+ [KM]iB free; nothing was downloaded`,
      ),
    );
    assert.match(
      r.stderr,
      /hint: point --tmp-dir at a directory with at least [\d.]+ [KM]iB free; or restore with --jobs 1 \(or restoreJobs: 1\): the artifact then stays compressed/,
    );
    assert.equal(await psql('postgres', `SELECT count(*) FROM pg_database WHERE datname LIKE '${target}%'`), '0');
    // The alternative it names works in the same space.
    const streamed = await runWithSmallDisk(
      small,
      sizeKiB,
      ['restore', 'postgres', '--env', 'ci', '--from', key, '--target-db', target, '--jobs', '1', '--tmp-dir', small],
      dir,
    );
    assert.equal(streamed.code, 0, streamed.stderr);
    await psql('postgres', `DROP DATABASE "${target}"`);
  });

  it('a bug (an error igbackup did not type) exits 70 with "internal error" and the stack', async () => {
    await writeConfig(dir, { envs: { ci: { storage: { type: 'file', path: join(dir, 'store') } } } });
    const hook = join(ROOT, 'test', 'fixtures', 'bin', 'internal-bug.cjs');
    const r = await runCli(['--json', 'list', '--env', 'ci'], { cwd: dir, env: { NODE_OPTIONS: `--require=${hook}` } });
    assert.equal(r.code, 70, r.stderr);
    assert.match(
      r.stderr,
      /error: internal error \(a bug in igbackup\): TypeError: Cannot read properties of undefined/,
    );
    assert.match(r.stderr, /\n\s+at /);
    assert.match(r.stderr, /hint: please report it/);
    const body = parseJson<{ ok: boolean; exitCode: number; error: { type: string } }>(r);
    assert.deepEqual([body.ok, body.exitCode, body.error.type], [false, 70, 'TypeError']);
  });
});
