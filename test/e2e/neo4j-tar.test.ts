// Neo4j method tar through the stand-ins, for what the real server cannot show here: the Kubernetes sequence (the
// archive made and unpacked by the helper pod on the scaled-down PVC), a check that fails after the unpack, and the
// flags and settings that do not go with tar.

import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { kubectlCalls } from '../helpers/kube.js';
import { parseJson, runCli, tempDir, writeConfig } from '../helpers/cli.js';
import { N4J, STANDIN_SERVICE, neo4jHome, writeKubeState, type Neo4jHome } from '../helpers/neo4j.js';

/** A stand-in home whose data directory holds system too, as a real one does. */
async function home(): Promise<Neo4jHome & { data: string }> {
  const n = await neo4jHome();
  const data = join(n.home, 'data');
  await mkdir(join(data, 'databases', 'system'), { recursive: true });
  await writeFile(join(data, 'databases', 'system', 'store'), 'users and roles');
  for (const db of ['neo4j', 'system']) await mkdir(join(data, 'transactions', db), { recursive: true });
  return { ...n, data };
}

const aside = async (data: string) => (await readdir(data)).filter((e) => e.startsWith('.igbackup-previous-'));

describe('neo4j --method tar (stand-ins)', () => {
  it('Kubernetes: the helper pod on the scaled-down PVC archives the data directory and unpacks it on restore', async () => {
    const n = await home();
    const state = await writeKubeState(n.dir);
    const root = join(await tempDir(), 'store');
    await writeConfig(n.dir, {
      envs: {
        k8s: {
          storage: { type: 'file', path: root },
          neo4j: {
            method: 'tar',
            transport: { type: 'kubernetes', namespace: 'graph', pod: 'neo4j-0' },
            kubernetes: {
              statefulSet: 'neo4j',
              pvc: 'data-neo4j-0',
              image: 'neo4j:5.26-community',
              mountPath: n.data,
              helperTimeoutSec: 10,
              rolloutTimeoutSec: 10,
            },
          },
        },
      },
    });
    const kubeLog = join(n.dir, 'kubectl.log');
    const env = n.env({
      IGB_KUBE_STATE: state,
      IGB_KUBECTL_LOG: kubeLog,
      IGB_KUBE_SCALE_HOOK: join(N4J, 'scale-hook'),
    });
    const original = await readFile(n.store);
    const b = await runCli(['--json', 'backup', 'neo4j', '--env', 'k8s'], { cwd: n.dir, env });
    assert.equal(b.code, 0, b.stderr);
    const res = parseJson<{ results: { key: string; database: string }[] }>(b).results;
    assert.deepEqual(
      res.map((r) => r.database),
      ['_dbms'],
    );
    const calls = await kubectlCalls(kubeLog);
    const helperExecs = calls.filter((a) => a[0] === 'exec' && a.some((x) => /^igbackup-neo4j-/.test(x)));
    assert.ok(
      helperExecs.some((a) => a.includes('tar') && a.includes(n.data)),
      `tar ran in the helper pod on the PVC: ${JSON.stringify(helperExecs)}`,
    );
    assert.ok(
      calls.some((a) => a.join(' ') === '-n graph scale statefulset neo4j --replicas=0'),
      'scaled down first',
    );
    assert.ok(await n.running());

    await writeFile(n.store, 'changed');
    const r = await runCli(['--json', 'restore', 'neo4j', '--env', 'k8s', '--latest'], { cwd: n.dir, env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(parseJson<{ result: { database: string } }>(r).result.database, '_dbms');
    assert.deepEqual(await readFile(n.store), original);
    assert.equal(await readFile(join(n.data, 'databases', 'system', 'store'), 'utf8'), 'users and roles');
    assert.deepEqual(await aside(n.data), []);
    assert.ok(await n.running());
  });

  it('a check failing after the unpack: the previous data directory is moved back and Neo4j started on it', async () => {
    const n = await home();
    const root = join(await tempDir(), 'store');
    await writeConfig(n.dir, {
      envs: { vm: { storage: { type: 'file', path: root }, neo4j: { service: STANDIN_SERVICE, dataDir: n.data } } },
    });
    const b = await runCli(['--json', 'backup', 'neo4j', '--env', 'vm', '--method', 'tar'], {
      cwd: n.dir,
      env: n.env(),
    });
    assert.equal(b.code, 0, b.stderr);
    const key = parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
    await writeFile(n.store, 'changed after the backup');
    const r = await runCli(['restore', 'neo4j', '--env', 'vm', '--from', key], {
      cwd: n.dir,
      env: n.env({ IGB_NEO4J_FAIL: 'check' }),
    });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /neo4j-admin database check found problems in the restored "(neo4j|system)"/);
    assert.match(r.stderr, /put the previous data directory back .*: ok/);
    assert.equal(await readFile(n.store, 'utf8'), 'changed after the backup');
    assert.deepEqual(await aside(n.data), []);
    assert.ok(await n.running());
  });

  it('tar with -d, with Enterprise, or of a directory that holds no store: exit 2 naming the fix, Neo4j never stopped', async () => {
    const n = await home();
    const root = join(await tempDir(), 'store');
    const neo4j = { service: STANDIN_SERVICE, dataDir: n.data, method: 'tar' };
    await writeConfig(n.dir, {
      envs: {
        vm: { storage: { type: 'file', path: root }, neo4j },
        ent: { storage: { type: 'file', path: root }, neo4j: { ...neo4j, edition: 'enterprise' } },
        nostore: { storage: { type: 'file', path: root }, neo4j: { ...neo4j, dataDir: n.home } },
      },
    });
    const cli = (...args: string[]) => runCli(args, { cwd: n.dir, env: n.env() });
    const d = await cli('backup', 'neo4j', '--env', 'vm', '-d', 'neo4j');
    assert.equal(d.code, 2, d.stderr);
    assert.match(d.stderr, /-d neo4j with method tar: a tar backup is the whole data directory/);
    const e = await cli('backup', 'neo4j', '--env', 'ent');
    assert.equal(e.code, 2, e.stderr);
    assert.match(e.stderr, /method tar is for Neo4j Community/);
    const s = await cli('backup', 'neo4j', '--env', 'nostore');
    assert.equal(s.code, 2, s.stderr);
    assert.match(s.stderr, /no Neo4j store there .*set neo4j\.dataDir/s);
    assert.ok(await n.running());
    assert.deepEqual(
      (await n.calls()).filter((c) => /^neo4j (stop|start)/.test(c)),
      [],
      'never stopped',
    );
  });
});
