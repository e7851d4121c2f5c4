// PostgreSQL over SSH (real OpenSSH server, non-root user) and through kubectl exec (stand-in kubectl on PATH):
// round trips, hostile names, host key checks, and every way a stream can break.

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { execa } from 'execa';
import { fingerprint } from '../../src/transports/known-hosts.js';
import { ROOT, parseJson, pgSection, runCli, s3Storage, startBackup, tempDir, writeConfig } from '../helpers/cli.js';
import {
  assertNothingStored,
  dropDatabase,
  fingerprint as dbFingerprint,
  makeBigDatabase,
  makeBucket,
  makeDatabase,
  pg,
  psql,
  sshServer,
  sshTransport,
  uniqueName,
  waitForDumpCopy,
} from '../helpers/servers.js';

const KUBE_BIN = join(ROOT, 'test', 'fixtures', 'kube');
const PWNED = '/tmp/igbackup-pwned';
// A database name that would run a command if it ever reached a shell unquoted.
const HOSTILE = `it's; $(touch ${PWNED}) "x" \`touch ${PWNED}\``;

async function hostKeyLine(): Promise<{ line: string; fp: string }> {
  const [type, b64] = (await readFile(sshServer.hostPubFile, 'utf8')).trim().split(/\s+/) as [string, string];
  return {
    line: `[${sshServer.host}]:${sshServer.port} ${type} ${b64}\n`,
    fp: fingerprint(Buffer.from(b64, 'base64')),
  };
}

describe('SSH transport (OpenSSH on 127.0.0.1)', () => {
  let dir: string;
  let bucket: string;
  let db: string;

  before(async () => {
    dir = await tempDir();
    bucket = await makeBucket();
    db = await makeDatabase(uniqueName('igb_ssh'), 1500);
    await writeFile(join(dir, 'known_hosts'), (await hostKeyLine()).line);
  });

  it('backs up and restores through SSH with equal contents; password only on stdin', async () => {
    await writeConfig(dir, {
      envs: { vm: { storage: s3Storage(bucket), postgres: pgSection([db], { transport: sshTransport(dir) }) } },
    });
    const b = await runCli(['--json', 'backup', 'postgres', '--env', 'vm'], { cwd: dir });
    assert.equal(b.code, 0, b.stderr);
    const key = parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
    const manifest = JSON.parse((await runCli(['--json', 'list', '--env', 'vm'], { cwd: dir })).stdout) as {
      backups: { sourceHost: string }[];
    };
    assert.match(manifest.backups[0]!.sourceHost, /igbssh@127\.0\.0\.1/);
    const scratch = uniqueName('igb_ssh_r');
    const r = await runCli(['restore', 'postgres', '--env', 'vm', '--from', key, '--target-db', scratch], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await dbFingerprint(scratch), await dbFingerprint(db));
    await dropDatabase(scratch);
  });

  it('a database name with quotes, ";", $(...) and spaces arrives as one literal argument', async () => {
    await psql('postgres', `CREATE DATABASE "${HOSTILE.replace(/"/g, '""')}"`);
    await psql(HOSTILE, 'CREATE TABLE t AS SELECT g FROM generate_series(1, 777) g;');
    await writeConfig(dir, {
      envs: { vm: { storage: s3Storage(bucket), postgres: pgSection([HOSTILE], { transport: sshTransport(dir) }) } },
    });
    const b = await runCli(['--json', 'backup', 'postgres', '--env', 'vm'], { cwd: dir });
    assert.equal(b.code, 0, b.stderr);
    const key = parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
    await psql(HOSTILE, 'DELETE FROM t;');
    const r = await runCli(['restore', 'postgres', '--env', 'vm', '--from', key], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await psql(HOSTILE, 'SELECT count(*) FROM t'), '777');
    assert.equal(existsSync(PWNED), false, 'a command hidden in the name was executed');
    await dropDatabase(HOSTILE);
  });

  it('refuses an unknown host key, showing the fingerprint and how to pin it; a pinned fingerprint connects', async () => {
    const { fp } = await hostKeyLine();
    await writeFile(join(dir, 'empty_known_hosts'), '');
    await writeConfig(dir, {
      envs: {
        vm: {
          storage: s3Storage(bucket),
          postgres: pgSection([db], { transport: sshTransport(dir, { knownHosts: join(dir, 'empty_known_hosts') }) }),
        },
      },
    });
    const r = await runCli(['backup', 'postgres', '--env', 'vm'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /host key of \[127\.0\.0\.1\]:\d+ is unknown/);
    assert.ok(r.stderr.includes(fp), 'fingerprint not shown');
    assert.match(r.stderr, /hostKeyFingerprint: SHA256:/);

    await writeConfig(dir, {
      envs: {
        vm: {
          storage: s3Storage(bucket),
          postgres: pgSection([db], {
            transport: sshTransport(dir, { knownHosts: join(dir, 'empty_known_hosts'), hostKeyFingerprint: fp }),
          }),
        },
      },
    });
    const ok = await runCli(['backup', 'postgres', '--env', 'vm'], { cwd: dir });
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('refuses a changed host key (known_hosts or pin)', async () => {
    const other = 'AAAAC3NzaC1lZDI1NTE5AAAAIJ2l0zfSH2m1x2pEQzM3X1t7v4a1a0c3p0aQh8fMZq8n';
    await writeFile(join(dir, 'wrong_known_hosts'), `[${sshServer.host}]:${sshServer.port} ssh-ed25519 ${other}\n`);
    await writeConfig(dir, {
      envs: {
        vm: {
          storage: s3Storage(bucket),
          postgres: pgSection([db], { transport: sshTransport(dir, { knownHosts: join(dir, 'wrong_known_hosts') }) }),
        },
      },
    });
    const r = await runCli(['backup', 'postgres', '--env', 'vm'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /host key of \[127\.0\.0\.1\]:\d+ CHANGED/);

    await writeConfig(dir, {
      envs: {
        vm: {
          storage: s3Storage(bucket),
          postgres: pgSection([db], {
            transport: sshTransport(dir, { hostKeyFingerprint: 'SHA256:' + 'A'.repeat(43) }),
          }),
        },
      },
    });
    const pinned = await runCli(['backup', 'postgres', '--env', 'vm'], { cwd: dir });
    assert.equal(pinned.code, 1);
    assert.match(pinned.stderr, /CHANGED or this is another host/);
  });

  it('the sshd session killed mid-stream fails the backup: no object, no manifest', async () => {
    const name = await makeBigDatabase('igb_sshkill', 1_000_000);
    const b2 = await makeBucket();
    await writeConfig(dir, {
      envs: {
        vm: {
          storage: s3Storage(b2, { queueSize: 1, minPartSizeMiB: 5 }),
          postgres: pgSection([name], { transport: sshTransport(dir) }),
        },
      },
    });
    const child = startBackup(dir, 'vm');
    assert.ok(await waitForDumpCopy(name), 'pg_dump never started copying');
    // Kill only this backup's sshd session (other test files may hold sessions too): walk up from its pg_dump.
    const dumpPid = (await execa('pgrep', ['-f', `pg_dump .*${name}`], { reject: false })).stdout.trim().split('\n')[0];
    assert.ok(dumpPid, 'pg_dump process not found');
    let pid = dumpPid;
    let session = '';
    for (let i = 0; i < 10 && pid && pid !== '1'; i++) {
      const cmd = (await execa('ps', ['-o', 'args=', '-p', pid], { reject: false })).stdout.trim();
      if (cmd.startsWith(`sshd: ${sshServer.user}`)) {
        session = pid;
        break;
      }
      pid = (await execa('ps', ['-o', 'ppid=', '-p', pid], { reject: false })).stdout.trim();
    }
    assert.ok(session, 'no sshd session above pg_dump');
    await execa('kill', ['-KILL', session]);
    const r = await child;
    assert.equal(r.exitCode, 1, String(r.stderr));
    assert.match(String(r.stderr), /connection to .* was lost|no integrity trailer|exited with code|killed by/);
    await assertNothingStored(b2);
    await psql('postgres', `DROP DATABASE ${name} WITH (FORCE)`);
  });
});

describe('Kubernetes transport (stand-in kubectl)', () => {
  let dir: string;
  let bucket: string;
  let db: string;
  let log: string;
  let pods: string;

  before(async () => {
    dir = await tempDir();
    bucket = await makeBucket();
    db = await makeDatabase(uniqueName('igb_k8s'), 1500);
    log = join(dir, 'kubectl.log');
    pods = join(dir, 'pods.json');
    const pod = (name: string, role: string, ready: boolean) => ({
      metadata: { name, namespace: 'db', labels: { app: 'pg', role } },
      status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
    });
    await writeFile(
      pods,
      JSON.stringify({
        items: [pod('pg-0', 'replica', true), pod('pg-1', 'primary', true), pod('pg-2', 'primary', false)],
      }),
    );
  });

  const kubeEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
    PATH: `${KUBE_BIN}:${process.env.PATH}`,
    IGB_KUBE_PODS: pods,
    IGB_KUBECTL_LOG: log,
    ...extra,
  });

  async function config(dbs: string[], transport: Record<string, unknown> = {}, b = bucket): Promise<void> {
    await writeConfig(dir, {
      envs: {
        k8s: {
          storage: s3Storage(b),
          postgres: pgSection(dbs, {
            transport: {
              type: 'kubernetes',
              namespace: 'db',
              selector: 'app=pg',
              primaryLabel: 'role=primary',
              container: 'postgres',
              context: 'test-ctx',
              ...transport,
            },
          }),
        },
      },
    });
  }

  it('picks the Ready primary by label, execs with -i (never -t), round-trips contents', async () => {
    await config([db]);
    const b = await runCli(['--json', 'backup', 'postgres', '--env', 'k8s'], { cwd: dir, env: kubeEnv() });
    assert.equal(b.code, 0, b.stderr);
    const calls = (await readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as string[]);
    assert.ok(calls.some((c) => c.join(' ').startsWith('--context test-ctx get pods -n db -l app=pg -o json')));
    const execs = calls.filter((c) => c.includes('exec'));
    assert.ok(execs.length > 0);
    for (const c of execs) {
      assert.deepEqual(c.slice(0, 10), [
        '--context',
        'test-ctx',
        'exec',
        '-i',
        '-n',
        'db',
        '-c',
        'postgres',
        'pg-1',
        '--',
      ]);
      const kubectlFlags = c.slice(0, c.indexOf('--'));
      assert.ok(!kubectlFlags.includes('-t') && !kubectlFlags.includes('--tty') && !kubectlFlags.includes('-it'));
      assert.ok(!c.join(' ').includes(pg.password), 'password in kubectl argv');
    }
    const key = parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
    const scratch = uniqueName('igb_k8s_r');
    const r = await runCli(['restore', 'postgres', '--env', 'k8s', '--from', key, '--target-db', scratch], {
      cwd: dir,
      env: kubeEnv(),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await dbFingerprint(scratch), await dbFingerprint(db));
    await dropDatabase(scratch);
  });

  it('a hostile database name round-trips through kubectl exec without running anything', async () => {
    const name = `${HOSTILE} k8s`;
    await psql('postgres', `CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    await psql(name, 'CREATE TABLE t AS SELECT g FROM generate_series(1, 321) g;');
    await config([name]);
    const b = await runCli(['--json', 'backup', 'postgres', '--env', 'k8s'], { cwd: dir, env: kubeEnv() });
    assert.equal(b.code, 0, b.stderr);
    await psql(name, 'DELETE FROM t;');
    const r = await runCli(['restore', 'postgres', '--env', 'k8s', '--latest', '-d', name], {
      cwd: dir,
      env: kubeEnv(),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await psql(name, 'SELECT count(*) FROM t'), '321');
    assert.equal(existsSync(PWNED), false);
    await dropDatabase(name);
  });

  it('kubectl losing the tail of the stream but exiting 0 is caught by the trailer: exit 3, nothing stored', async () => {
    const b2 = await makeBucket();
    await config([db], {}, b2);
    const r = await runCli(['backup', 'postgres', '--env', 'k8s'], {
      cwd: dir,
      env: kubeEnv({ IGB_KUBECTL_TRUNCATE_TAIL: '1000', IGB_KUBECTL_FAULT_ONLY: '--format=custom' }),
    });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /incomplete or altered: the remote side wrote (\d+) bytes/);
    await assertNothingStored(b2);
  });

  it('kubectl exiting non-zero fails the backup', async () => {
    const b2 = await makeBucket();
    await config([db], {}, b2);
    const r = await runCli(['backup', 'postgres', '--env', 'k8s'], {
      cwd: dir,
      env: kubeEnv({ IGB_KUBECTL_EXIT: '1', IGB_KUBECTL_FAULT_ONLY: '--format=custom' }),
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /unable to upgrade connection/);
    await assertNothingStored(b2);
  });

  it('a hanging kubectl is killed by the idle timeout', async () => {
    const b2 = await makeBucket();
    await config([db], { idleTimeoutSec: 2 }, b2);
    const r = await runCli(['backup', 'postgres', '--env', 'k8s'], {
      cwd: dir,
      env: kubeEnv({ IGB_KUBECTL_HANG: '1', IGB_KUBECTL_FAULT_ONLY: '--format=custom' }),
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /no data from .* for 2 s \(idle timeout\)/);
    await assertNothingStored(b2);
  });

  it('no Ready pod matching the selector: a clear error', async () => {
    await config([db], { selector: 'app=nothing' });
    const r = await runCli(['backup', 'postgres', '--env', 'k8s'], { cwd: dir, env: kubeEnv() });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no Running and Ready pod with label role=primary matches -l app=nothing in namespace db/);
  });
});
