// Neo4j through stand-ins (neo4j-admin and the service script follow the documented argv; Community refuses to dump
// while running): the offline sequence, recovery after a failure at each step, Enterprise online backup, and the
// Kubernetes sequence (scale 0 -> helper pod -> exec -> delete -> scale back) through the stand-in kubectl.

import assert from 'node:assert/strict';
import { kubectlCalls } from '../helpers/kube.js';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { parseJson, runCli, s3Storage, writeConfig } from '../helpers/cli.js';
import { assertNothingStored, makeBucket } from '../helpers/servers.js';
import { N4J, neo4jHome, writeKubeState, type Neo4jHome } from '../helpers/neo4j.js';

const service = {
  stop: ['neo4j', 'stop'],
  start: ['neo4j', 'start'],
  status: ['neo4j', 'status'],
  readyTimeoutSec: 5,
  startAttempts: 3,
};

describe('neo4j community on a VM (local transport)', () => {
  it('backup runs stop -> dump -> start; restore runs stop -> copy (dump) -> load -> check -> start; the store round-trips', async () => {
    const n = await neo4jHome();
    const bucket = await makeBucket();
    await writeConfig(n.dir, { envs: { vm: { storage: s3Storage(bucket), neo4j: { service } } } });
    const original = await readFile(n.store);
    const b = await runCli(['--json', 'backup', 'neo4j', '--env', 'vm'], { cwd: n.dir, env: n.env() });
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(await n.calls(), [
      'neo4j-admin --version', // before the stop: nothing is stopped for a missing neo4j-admin
      'neo4j stop',
      'neo4j-admin database dump neo4j --to-stdout',
      'neo4j start',
    ]);
    assert.ok(await n.running());
    const key = parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
    assert.match(key, /^vm\/neo4j\/neo4j_.*\.dump\.zst$/);
    // status says what bounds Community's RPO.
    const st = await runCli(['status', '--env', 'vm'], { cwd: n.dir, env: n.env() });
    assert.match(
      st.stdout,
      /neo4j: Neo4j Community: the RPO is the interval between offline dumps .* each dump stops the database/,
    );

    await writeFile(n.store, 'changed after the backup');
    await writeFile(n.log, '');
    const r = await runCli(['--json', 'restore', 'neo4j', '--env', 'vm', '--from', key], { cwd: n.dir, env: n.env() });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await n.calls(), [
      'neo4j stop',
      'neo4j-admin database dump neo4j --to-stdout', // the copy kept until the restore succeeded
      'neo4j-admin database load neo4j --from-stdin --overwrite-destination=true',
      'neo4j-admin database check neo4j',
      'neo4j start',
    ]);
    assert.deepEqual(await readFile(n.store), original);
    assert.equal(parseJson<{ result: { checked: boolean } }>(r).result.checked, true);
    assert.ok(await n.running());
  });

  for (const step of ['stop', 'dump'] as const) {
    it(`a backup failing at "${step}" stores nothing and leaves Neo4j running`, async () => {
      const n = await neo4jHome();
      const bucket = await makeBucket();
      await writeConfig(n.dir, { envs: { vm: { storage: s3Storage(bucket), neo4j: { service } } } });
      const b = await runCli(['backup', 'neo4j', '--env', 'vm'], { cwd: n.dir, env: n.env({ IGB_NEO4J_FAIL: step }) });
      assert.equal(b.code, 1, b.stderr);
      assert.match(b.stderr, new RegExp(`injected ${step} failure`));
      assert.match(b.stderr, step === 'stop' ? /recovery: Neo4j is still running/ : /recovery: started Neo4j/);
      assert.ok(await n.running(), 'Neo4j was left stopped');
      await assertNothingStored(bucket);
    });
  }

  it('a missing neo4j-admin fails the backup before Neo4j is stopped, and doctor says so', async () => {
    const n = await neo4jHome();
    const bucket = await makeBucket();
    const neo4j = { service, neo4jAdmin: join(n.dir, 'no-such-neo4j-admin') };
    await writeConfig(n.dir, { envs: { vm: { storage: s3Storage(bucket), neo4j } } });
    const b = await runCli(['backup', 'neo4j', '--env', 'vm'], { cwd: n.dir, env: n.env() });
    assert.notEqual(b.code, 0, b.stderr);
    assert.match(b.stderr, /no-such-neo4j-admin/);
    assert.ok(!(await n.calls()).includes('neo4j stop'), 'Neo4j was stopped for nothing');
    assert.ok(await n.running());
    const d = await runCli(['--json', 'doctor', '--env', 'vm'], { cwd: n.dir, env: n.env() });
    assert.equal(d.code, 6, d.stdout);
    const failed = parseJson<{ checks: { status: string; check: string }[] }>(d).checks.filter(
      (c) => c.status === 'fail',
    );
    assert.ok(
      failed.some((c) => c.check.startsWith('tools on')),
      JSON.stringify(failed),
    );
  });

  it('a backup of a Neo4j found stopped dumps without stop or start and leaves it stopped, saying so', async () => {
    const n = await neo4jHome();
    const bucket = await makeBucket();
    await writeConfig(n.dir, { envs: { vm: { storage: s3Storage(bucket), neo4j: { service } } } });
    await execa(join(N4J, 'neo4j'), ['stop'], { env: n.env() });
    await writeFile(n.log, '');
    const b = await runCli(['backup', 'neo4j', '--env', 'vm'], { cwd: n.dir, env: n.env() });
    assert.equal(b.code, 0, b.stderr);
    assert.match(
      b.stderr,
      /Neo4j on \S+ is not running \(neo4j status\): it is not stopped, and it is left stopped afterwards, as found/,
    );
    assert.deepEqual(await n.calls(), ['neo4j-admin --version', 'neo4j-admin database dump neo4j --to-stdout']);
    assert.equal(await n.running(), false);
  });

  it('a start that fails once is retried: the backup completes and Neo4j runs', async () => {
    const n = await neo4jHome();
    const bucket = await makeBucket();
    await writeConfig(n.dir, { envs: { vm: { storage: s3Storage(bucket), neo4j: { service } } } });
    const b = await runCli(['backup', 'neo4j', '--env', 'vm'], {
      cwd: n.dir,
      env: n.env({ IGB_NEO4J_FAIL: 'start', IGB_NEO4J_FAIL_ONCE_DIR: n.dir }),
    });
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stderr, /starting Neo4j failed \(attempt 1\/3\)/);
    assert.ok(await n.running());
  });

  it('a restore failing at "load" (the old store already removed) puts the previous database back, leaves Neo4j running and says what was done', async () => {
    const n = await neo4jHome();
    const bucket = await makeBucket();
    await writeConfig(n.dir, { envs: { vm: { storage: s3Storage(bucket), neo4j: { service } } } });
    assert.equal((await runCli(['backup', 'neo4j', '--env', 'vm'], { cwd: n.dir, env: n.env() })).code, 0);
    await writeFile(n.store, 'written after the backup');
    const r = await runCli(['restore', 'neo4j', '--env', 'vm', '--latest'], {
      cwd: n.dir,
      env: n.env({ IGB_NEO4J_FAIL: 'load@1' }),
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /injected load failure[\s\S]*recovery: put the previous "neo4j" back \(loaded the copy taken before the restore\): ok; started Neo4j/,
    );
    assert.equal(await readFile(n.store, 'utf8'), 'written after the backup');
    assert.ok(await n.running());
  });
});

describe('neo4j failures at the remaining steps', () => {
  it('a restore failing at "check" leaves Neo4j running', async () => {
    const n = await neo4jHome();
    const bucket = await makeBucket();
    await writeConfig(n.dir, { envs: { vm: { storage: s3Storage(bucket), neo4j: { service } } } });
    assert.equal((await runCli(['backup', 'neo4j', '--env', 'vm'], { cwd: n.dir, env: n.env() })).code, 0);
    const r = await runCli(['restore', 'neo4j', '--env', 'vm', '--latest'], {
      cwd: n.dir,
      env: n.env({ IGB_NEO4J_FAIL: 'check' }),
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /check found problems[\s\S]*recovery: put the previous "neo4j" back \(loaded the copy taken before the restore\): ok; started Neo4j/,
    );
    assert.ok(await n.running());
  });

  it('a start that keeps failing after the backup: exit 69, Neo4j is DOWN first, the start command named (the backup itself is kept)', async () => {
    const n = await neo4jHome();
    const bucket = await makeBucket();
    await writeConfig(n.dir, {
      envs: { vm: { storage: s3Storage(bucket), neo4j: { service: { ...service, startAttempts: 2 } } } },
    });
    const b = await runCli(['backup', 'neo4j', '--env', 'vm'], { cwd: n.dir, env: n.env({ IGB_NEO4J_FAIL: 'start' }) });
    assert.equal(b.code, 69, b.stderr);
    assert.match(b.stderr, /^error: Neo4j on \S+ is DOWN/m);
    assert.match(b.stderr, /Neo4j did not come back after 2 start attempts/);
    assert.match(b.stderr, /recovery: the operation itself completed; start Neo4j: FAILED/);
    assert.match(b.stderr, /The backup itself succeeded and is stored/);
    assert.match(b.stderr, /hint: on \S+, run: neo4j start/);
    const l = await runCli(['--json', 'list', 'neo4j', '--env', 'vm'], { cwd: n.dir, env: n.env() });
    assert.equal(parseJson<{ backups: unknown[] }>(l).backups.length, 1, 'the complete dump was lost');
  });
});

describe('neo4j enterprise (online backup)', () => {
  it('backs up with database backup while running, restores the artifact offline', async () => {
    const n = await neo4jHome();
    const bucket = await makeBucket();
    await writeConfig(n.dir, {
      envs: {
        vm: {
          storage: s3Storage(bucket),
          neo4j: {
            edition: 'enterprise',
            service,
            enterprise: { workDir: join(n.dir, 'work'), from: 'localhost:6362' },
          },
        },
      },
    });
    const original = await readFile(n.store);
    const b = await runCli(['--json', 'backup', 'neo4j', '--env', 'vm'], { cwd: n.dir, env: n.env() });
    assert.equal(b.code, 0, b.stderr);
    const calls = await n.calls();
    assert.ok(
      calls.some((c) => /^neo4j-admin database backup --from=localhost:6362 --to-path=.* --type=FULL neo4j$/.test(c)),
      calls.join('\n'),
    );
    assert.ok(!calls.includes('neo4j stop'), 'enterprise backups are online');
    const key = parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
    assert.match(key, /\.backup\.zst$/);
    await writeFile(n.store, 'changed');
    const r = await runCli(['restore', 'neo4j', '--env', 'vm', '--from', key], { cwd: n.dir, env: n.env() });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await readFile(n.store), original);
    assert.ok(await n.running());
  });
});

describe('neo4j community in Kubernetes (stand-in kubectl)', () => {
  async function setup(): Promise<{ n: Neo4jHome; state: string; kubeLog: string; bucket: string }> {
    const n = await neo4jHome();
    const state = await writeKubeState(n.dir);
    const bucket = await makeBucket();
    await writeConfig(n.dir, {
      envs: {
        k8s: {
          storage: s3Storage(bucket),
          neo4j: {
            transport: { type: 'kubernetes', namespace: 'graph', pod: 'neo4j-0' },
            kubernetes: {
              statefulSet: 'neo4j',
              pvc: 'data-neo4j-0',
              image: 'neo4j:5.26-community',
              helperTimeoutSec: 10,
              rolloutTimeoutSec: 10,
            },
          },
        },
      },
    });
    return { n, state, kubeLog: join(n.dir, 'kubectl.log'), bucket };
  }
  const kenv = (s: { n: Neo4jHome; state: string; kubeLog: string }, extra: Record<string, string> = {}) =>
    s.n.env({
      IGB_KUBE_STATE: s.state,
      IGB_KUBECTL_LOG: s.kubeLog,
      IGB_KUBE_SCALE_HOOK: join(N4J, 'scale-hook'),
      ...extra,
    });
  const verbs = async (log: string): Promise<string[]> =>
    (await kubectlCalls(log)).map((a) => {
      const i = a.indexOf('--');
      const head = (i >= 0 ? a.slice(0, i) : a).filter((x) => !x.startsWith('--overrides=') && !/^--timeout=/.test(x));
      return i >= 0 && a[0] === 'exec'
        ? `exec ${head[head.length - 1]} ${a
            .slice(i + 1)
            .slice(0, 1)
            .join(' ')}`
        : head.join(' ');
    });

  it('scale 0 -> helper pod on the PVC -> dump -> delete helper -> scale back -> rollout; restore the same way', async () => {
    const s = await setup();
    const original = await readFile(s.n.store);
    const b = await runCli(['--json', 'backup', 'neo4j', '--env', 'k8s'], { cwd: s.n.dir, env: kenv(s) });
    assert.equal(b.code, 0, b.stderr);
    const v = await verbs(s.kubeLog);
    const expected = [
      '-n graph get statefulset neo4j -o jsonpath={.spec.replicas}',
      '-n graph scale statefulset neo4j --replicas=0',
      '-n graph wait --for=delete pod/neo4j-0',
      /^-n graph run igbackup-neo4j-\d{14}-[0-9a-f]{4} --image=neo4j:5\.26-community --restart=Never --command$/,
      /^-n graph wait --for=condition=Ready pod\/igbackup-neo4j-\d{14}-[0-9a-f]{4}$/,
    ];
    expected.forEach((e, i) => (typeof e === 'string' ? assert.equal(v[i], e) : assert.match(v[i] ?? '', e)));
    assert.ok(
      v.slice(5).some((x) => /^exec igbackup-neo4j-\d{14}-[0-9a-f]{4} sh$/.test(x)),
      v.join('\n'),
    );
    assert.match(
      v.at(-3) ?? '',
      /^-n graph delete pod igbackup-neo4j-\d{14}-[0-9a-f]{4} --ignore-not-found=true --wait=true$/,
    );
    assert.equal(v.at(-2), '-n graph scale statefulset neo4j --replicas=1');
    assert.equal(v.at(-1), '-n graph rollout status statefulset/neo4j');
    assert.ok(await s.n.running(), 'Neo4j not running after the backup');
    const st = JSON.parse(await readFile(s.state, 'utf8')) as { pods: { metadata: { name: string } }[] };
    assert.deepEqual(
      st.pods.map((p) => p.metadata.name),
      ['neo4j-0'],
    );

    await writeFile(s.n.store, 'changed');
    const r = await runCli(['restore', 'neo4j', '--env', 'k8s', '--latest'], { cwd: s.n.dir, env: kenv(s) });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await readFile(s.n.store), original);
    assert.ok(await s.n.running());
  });

  it('a dump failing inside the helper pod: helper deleted, StatefulSet scaled back, nothing stored', async () => {
    const s = await setup();
    const b = await runCli(['backup', 'neo4j', '--env', 'k8s'], {
      cwd: s.n.dir,
      env: kenv(s, { IGB_NEO4J_FAIL: 'dump' }),
    });
    assert.equal(b.code, 1, b.stderr);
    assert.match(
      b.stderr,
      /recovery: deleted helper pod igbackup-neo4j-\d{14}-[0-9a-f]{4}: ok; scaled neo4j back to 1: ok; rollout of neo4j complete: ok/,
    );
    assert.ok(await s.n.running());
    const st = JSON.parse(await readFile(s.state, 'utf8')) as {
      statefulsets: { neo4j: { replicas: number } };
      pods: { metadata: { name: string } }[];
    };
    assert.equal(st.statefulsets.neo4j.replicas, 1);
    assert.deepEqual(
      st.pods.map((p) => p.metadata.name),
      ['neo4j-0'],
    );
    await assertNothingStored(s.bucket);
  });

  it('the helper pod failing to start still scales the StatefulSet back', async () => {
    const s = await setup();
    const b = await runCli(['backup', 'neo4j', '--env', 'k8s'], {
      cwd: s.n.dir,
      env: kenv(s, { IGB_KUBECTL_FAIL_VERB: 'run' }),
    });
    assert.equal(b.code, 1, b.stderr);
    assert.match(b.stderr, /injected failure of kubectl run/);
    assert.match(b.stderr, /scaled neo4j back to 1: ok/);
    assert.ok(await s.n.running());
    await assertNothingStored(s.bucket);
  });

  it('a check failing in the helper pod: the previous database put back there, helper deleted, scaled back', async () => {
    const s = await setup();
    assert.equal((await runCli(['backup', 'neo4j', '--env', 'k8s'], { cwd: s.n.dir, env: kenv(s) })).code, 0);
    const current = randomBytes(50_000);
    await writeFile(s.n.store, current);
    const r = await runCli(['restore', 'neo4j', '--env', 'k8s', '--latest'], {
      cwd: s.n.dir,
      env: kenv(s, { IGB_NEO4J_FAIL: 'check' }),
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /recovery: put the previous "neo4j" back \(loaded the copy taken before the restore\): ok; deleted helper pod igbackup-neo4j-\S+: ok; scaled neo4j back to 1: ok; rollout of neo4j complete: ok/,
    );
    assert.deepEqual(await readFile(s.n.store), current);
    assert.ok(await s.n.running());
  });

  it('the put-back failing in the helper pod: exit 69, the helper kept, not scaled back; the kubectl commands named bring it back', async () => {
    const s = await setup();
    assert.equal((await runCli(['backup', 'neo4j', '--env', 'k8s'], { cwd: s.n.dir, env: kenv(s) })).code, 0);
    const current = randomBytes(50_000);
    await writeFile(s.n.store, current);
    const r = await runCli(['restore', 'neo4j', '--env', 'k8s', '--latest'], {
      cwd: s.n.dir,
      env: kenv(s, { IGB_NEO4J_FAIL: 'check,load@2' }),
    });
    assert.equal(r.code, 69, r.stderr);
    assert.match(r.stderr, /^error: Neo4j \(StatefulSet neo4j in namespace graph\) is DOWN/m);
    const st = JSON.parse(await readFile(s.state, 'utf8')) as {
      statefulsets: { neo4j: { replicas: number } };
      pods: { metadata: { name: string } }[];
    };
    assert.equal(st.statefulsets.neo4j.replicas, 0, 'scaled back onto the database that failed');
    assert.ok(!(await s.n.running()));
    const hint =
      /^hint: bring it back by hand: (kubectl -n graph exec -i igbackup-neo4j-\S+ -- neo4j-admin database load neo4j --from-stdin --overwrite-destination=true < \S+ && kubectl -n graph delete pod \S+ --ignore-not-found=true && kubectl -n graph scale statefulset neo4j --replicas=1)$/m.exec(
        r.stderr,
      );
    assert.ok(hint, r.stderr);
    await execa('sh', ['-c', hint[1]!], { env: kenv(s) });
    assert.deepEqual(await readFile(s.n.store), current);
    assert.ok(await s.n.running());
  });

  it('restore preflight: a missing PVC is exit 2 before the download, nothing scaled', async () => {
    const s = await setup();
    assert.equal((await runCli(['backup', 'neo4j', '--env', 'k8s'], { cwd: s.n.dir, env: kenv(s) })).code, 0);
    const st = JSON.parse(await readFile(s.state, 'utf8')) as Record<string, unknown>;
    await writeFile(s.state, JSON.stringify({ ...st, persistentvolumeclaims: {} }));
    await writeFile(s.kubeLog, '');
    const r = await runCli(['restore', 'neo4j', '--env', 'k8s', '--latest'], { cwd: s.n.dir, env: kenv(s) });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /pvc data-neo4j-0 in namespace graph could not be found \(Error from server \(NotFound\).*\): fix neo4j\.kubernetes\.pvc/,
    );
    assert.doesNotMatch(r.stderr, /downloading/);
    assert.ok(!(await verbs(s.kubeLog)).some((v) => /scale|run /.test(v)), 'something was scaled or started');
    assert.ok(await s.n.running());
  });

  it('a rollout that never completes after the restore: exit 69, DOWN first, the kubectl commands named', async () => {
    const s = await setup();
    assert.equal((await runCli(['backup', 'neo4j', '--env', 'k8s'], { cwd: s.n.dir, env: kenv(s) })).code, 0);
    const r = await runCli(['restore', 'neo4j', '--env', 'k8s', '--latest'], {
      cwd: s.n.dir,
      env: kenv(s, { IGB_KUBECTL_FAIL_VERB: 'rollout' }),
    });
    assert.equal(r.code, 69, r.stderr);
    assert.match(r.stderr, /^error: Neo4j \(StatefulSet neo4j in namespace graph\) is DOWN/m);
    assert.match(
      r.stderr,
      /recovery: the operation itself completed; deleted helper pod igbackup-neo4j-\d{14}-[0-9a-f]{4}: ok; scaled neo4j back to 1: ok; rollout of neo4j complete: FAILED/,
    );
    assert.match(
      r.stderr,
      /hint: run: kubectl -n graph delete pod igbackup-neo4j-\d{14}-[0-9a-f]{4} --ignore-not-found=true && kubectl -n graph scale statefulset neo4j --replicas=1/,
    );
  });
});

describe('neo4j restore preflight (before the download and any stop)', () => {
  for (const [name, neo4jCfg, problem] of [
    [
      'a stop command that does not exist',
      { service: { ...service, stop: ['/nonexistent/neo4j', 'stop'] } },
      /the stop command \/nonexistent\/neo4j does not exist for user "root".*fix neo4j\.service\.stop/,
    ],
    [
      'a start command not in PATH',
      { service: { ...service, start: ['no-such-neo4j-control', 'start'] } },
      /the start command no-such-neo4j-control is not found in PATH.*fix neo4j\.service\.start/,
    ],
    [
      'neo4j-admin missing',
      { service, neo4jAdmin: '/opt/none/bin/neo4j-admin' },
      /neo4j-admin \/opt\/none\/bin\/neo4j-admin does not exist.*neo4j\.neo4jAdmin/,
    ],
  ] as const) {
    it(`${name}: exit 2 with the fix, Neo4j never stopped, nothing downloaded`, async () => {
      const n = await neo4jHome();
      const bucket = await makeBucket();
      await writeConfig(n.dir, { envs: { vm: { storage: s3Storage(bucket), neo4j: { service } } } });
      assert.equal((await runCli(['backup', 'neo4j', '--env', 'vm'], { cwd: n.dir, env: n.env() })).code, 0);
      await writeConfig(n.dir, { envs: { vm: { storage: s3Storage(bucket), neo4j: neo4jCfg } } });
      await writeFile(n.log, '');
      const r = await runCli(['restore', 'neo4j', '--env', 'vm', '--latest'], { cwd: n.dir, env: n.env() });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, problem);
      assert.doesNotMatch(r.stderr, /downloading/);
      assert.deepEqual(await n.calls(), [], 'Neo4j was touched');
      assert.ok(await n.running());
    });
  }

  it('Enterprise: a work directory that cannot be created is exit 2 before the stop', async () => {
    const n = await neo4jHome();
    const bucket = await makeBucket();
    await writeFile(join(n.dir, 'a-file'), 'not a directory');
    const cfg = (workDir: string) => ({
      envs: { vm: { storage: s3Storage(bucket), neo4j: { edition: 'enterprise', service, enterprise: { workDir } } } },
    });
    await writeConfig(n.dir, cfg(join(n.dir, 'work')));
    assert.equal((await runCli(['backup', 'neo4j', '--env', 'vm'], { cwd: n.dir, env: n.env() })).code, 0);
    await writeConfig(n.dir, cfg(join(n.dir, 'a-file', 'work')));
    await writeFile(n.log, '');
    const r = await runCli(['restore', 'neo4j', '--env', 'vm', '--latest'], { cwd: n.dir, env: n.env() });
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /the Enterprise work directory .*a-file\/work is not under a directory.*neo4j\.enterprise\.workDir/,
    );
    assert.deepEqual(await n.calls(), []);
    assert.ok(await n.running());
  });

  it('a start that keeps failing after a failed load: exit 69, DOWN first, the start command named', async () => {
    const n = await neo4jHome();
    const bucket = await makeBucket();
    await writeConfig(n.dir, {
      envs: { vm: { storage: s3Storage(bucket), neo4j: { service: { ...service, startAttempts: 1 } } } },
    });
    assert.equal((await runCli(['backup', 'neo4j', '--env', 'vm'], { cwd: n.dir, env: n.env() })).code, 0);
    const broken = ['sh', '-c', 'echo "start refused" >&2; exit 1'];
    await writeConfig(n.dir, {
      envs: { vm: { storage: s3Storage(bucket), neo4j: { service: { ...service, start: broken, startAttempts: 1 } } } },
    });
    const r = await runCli(['restore', 'neo4j', '--env', 'vm', '--latest'], {
      cwd: n.dir,
      env: n.env({ IGB_NEO4J_FAIL: 'load@1' }),
    });
    assert.equal(r.code, 69, r.stderr);
    assert.match(r.stderr, /^error: Neo4j on \S+ is DOWN: /m);
    assert.match(r.stderr, /what failed first: neo4j-admin exited with code 1:\nneo4j-admin: injected load failure/);
    assert.match(
      r.stderr,
      /recovery: put the previous "neo4j" back \(loaded the copy taken before the restore\): ok; start Neo4j: FAILED \(Neo4j did not come back after 1 start attempts: start refused/,
    );
    assert.match(r.stderr, /hint: on \S+, run: sh -c 'echo "start refused" >&2; exit 1'/);
    assert.equal(await n.running(), false);
  });
});
