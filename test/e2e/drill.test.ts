// Restore drills on the real PostgreSQL and Redis: a throwaway target, smoke tests, RTO against the tier target,
// teardown also on failure, a stored report that status then shows.

import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { kubectlCalls } from '../helpers/kube.js';
import { ROOT, parseJson, pgSection, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { listKeys, makeBucket, makeDatabase, psql, sshServer, uniqueName } from '../helpers/servers.js';
import { digest, fillRedis, startRedis } from '../helpers/redis.js';

interface DrillJson {
  reports: {
    ok: boolean;
    rtoSeconds: number;
    rtoMet: boolean;
    target: string;
    checks: { name: string; ok: boolean }[];
  }[];
}

describe('drill', () => {
  it('postgres: restores into a scratch database, runs the SQL checks, meets the RTO, drops the scratch; failures and RTO misses exit 6', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const db = await makeDatabase(uniqueName('igb_drill'), 200);
    const config = (expect: string, rtoMinutes: number) => ({
      tiers: { gold: { rpoMinutes: 60, rtoMinutes } },
      envs: {
        prod: {
          protected: true,
          tier: 'gold',
          storage: s3Storage(bucket),
          postgres: pgSection([db]),
          drill: { postgres: [{ sql: 'SELECT count(*) FROM customers', expect }] },
        },
      },
    });
    await writeConfig(dir, config('200', 60));
    assert.equal((await runCli(['backup', 'postgres', '--env', 'prod'], { cwd: dir })).code, 0);

    const ok = await runCli(['--json', 'drill', 'postgres', '--env', 'prod'], { cwd: dir });
    assert.equal(ok.code, 0, ok.stderr);
    const r = parseJson<DrillJson>(ok).reports[0]!;
    assert.equal(r.ok, true);
    assert.equal(r.rtoMet, true);
    assert.ok(r.rtoSeconds > 0 && r.rtoSeconds < 3600);
    assert.match(r.target, /__igb_drill_/);
    assert.deepEqual(
      r.checks.map((c) => c.ok),
      [true, true],
    );
    const left = () => psql('postgres', `SELECT count(*) FROM pg_database WHERE datname LIKE '${db}__igb_%'`);
    assert.equal(await left(), '0', 'scratch database not torn down');
    assert.equal((await listKeys(bucket, 'prod/.igbackup/drills/postgres/')).length, 1);

    await writeConfig(dir, config('999', 60));
    const bad = await runCli(['drill', 'postgres', '--env', 'prod'], { cwd: dir });
    assert.equal(bad.code, 6, bad.stderr);
    assert.match(
      bad.stderr,
      /drill failed: postgres\/.*SELECT count\(\*\) FROM customers \(got "200", expected "999"\)/,
    );
    assert.equal(await left(), '0', 'scratch database not torn down after a failed check');

    await writeConfig(dir, config('200', 0.0001));
    const slow = await runCli(['drill', 'postgres', '--env', 'prod'], { cwd: dir });
    assert.equal(slow.code, 6, slow.stderr);
    assert.match(slow.stderr, /RTO [\d.]+ s > target 0\.006 s/);

    const st = await runCli(['--json', 'status', '--env', 'prod'], { cwd: dir });
    const row = parseJson<{
      rows: { lastDrill: { ok: boolean; rtoSeconds: number }; breached: boolean; reason: string }[];
    }>(st).rows[0]!;
    assert.equal(row.lastDrill.ok, false);
    assert.equal(row.breached, true);
    assert.match(row.reason, /the last drill failed/);
    const prom = await runCli(['status', '--env', 'prod', '--format', 'prometheus'], { cwd: dir });
    assert.match(prom.stdout, /igbackup_rto_seconds\{env="prod",engine="postgres",database="[^"]+"\} [\d.]+/);
    assert.match(prom.stdout, /igbackup_last_drill_success\{[^}]+\} 0/);
  });

  it('redis: loads the RDB into a scratch redis-server here, runs the command checks, leaves the source alone', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const r = await startRedis();
    await fillRedis(r, 300);
    const before = await digest(r);
    await writeConfig(dir, {
      tiers: { gold: { rpoMinutes: 60, rtoMinutes: 60 } },
      envs: {
        prod: {
          tier: 'gold',
          storage: s3Storage(bucket),
          redis: { port: r.port },
          drill: {
            redis: [
              { command: ['DBSIZE'], min: 1500 },
              { command: ['GET', 's:5'], expect: 'value-5' },
            ],
          },
        },
      },
    });
    assert.equal((await runCli(['backup', 'redis', '--env', 'prod'], { cwd: dir })).code, 0);
    await r.cli('SET', 'after-backup', '1');
    const res = await runCli(['--json', 'drill', 'redis', '--env', 'prod'], { cwd: dir });
    assert.equal(res.code, 0, res.stderr);
    const rep = parseJson<DrillJson>(res).reports[0]!;
    assert.equal(rep.ok, true);
    assert.match(rep.target, /scratch redis-server/);
    assert.equal(await r.cli('GET', 'after-backup'), '1', 'the drill touched the source');
    assert.notEqual(await digest(r), before);
    await r.stop();
  });

  it('kubernetes: a fresh namespace with the workload from the manifest, restore and checks in its pod, namespace deleted (also on failure)', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const db = await makeDatabase(uniqueName('igb_kdrill'), 120);
    const state = join(dir, 'kube-state.json');
    const log = join(dir, 'kubectl.log');
    await writeFile(state, JSON.stringify({ statefulsets: {}, pods: [], namespaces: [] }));
    await writeFile(
      join(dir, 'drill-workload.yaml'),
      'apiVersion: apps/v1\nkind: StatefulSet\nmetadata: { name: drill-pg }\nspec:\n  replicas: 1\n  template: { metadata: { labels: { app: drill-pg } } }\n',
    );
    const kube = {
      PATH: `${join(ROOT, 'test', 'fixtures', 'kube')}:${process.env.PATH}`,
      IGB_KUBE_STATE: state,
      IGB_KUBECTL_LOG: log,
    };
    const config = (expect: string) => ({
      tiers: { gold: { rpoMinutes: 60, rtoMinutes: 60 } },
      envs: {
        prod: {
          tier: 'gold',
          storage: s3Storage(bucket),
          postgres: pgSection([db]),
          drill: {
            postgres: [{ sql: 'SELECT count(*) FROM customers', expect }],
            kubernetes: {
              manifest: './drill-workload.yaml',
              pod: 'drill-pg-0',
              context: 'drills',
              port: Number(process.env.IGBACKUP_TEST_PG_PORT),
              user: 'postgres',
              password: { env: 'TEST_PG_PASSWORD' },
            },
          },
        },
      },
    });
    await writeConfig(dir, config('120'));
    assert.equal((await runCli(['backup', 'postgres', '--env', 'prod'], { cwd: dir })).code, 0);
    const ok = await runCli(['--json', 'drill', 'postgres', '--env', 'prod'], { cwd: dir, env: kube });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(parseJson<DrillJson>(ok).reports[0]!.target, /in namespace igbackup-drill-\d+/);
    const calls = await kubectlCalls(log);
    const ns = calls[0]?.[4] ?? '';
    assert.deepEqual(calls[0], ['--context', 'drills', 'create', 'namespace', ns]);
    assert.match(ns, /^igbackup-drill-\d{14}-[0-9a-f]{4}-postgres$/);
    assert.deepEqual(calls[1]?.slice(0, 6), ['--context', 'drills', 'apply', '-n', ns, '-f']);
    assert.ok(
      calls.some((c) => c.includes('exec') && c.includes(ns) && c.includes('drill-pg-0')),
      'nothing ran in the drill pod',
    );
    assert.deepEqual(calls.at(-1), ['--context', 'drills', 'delete', 'namespace', ns, '--wait=false']);
    assert.deepEqual((JSON.parse(await readFile(state, 'utf8')) as { namespaces: string[] }).namespaces, []);

    await writeConfig(dir, config('0'));
    await writeFile(log, '');
    const bad = await runCli(['drill', 'postgres', '--env', 'prod'], { cwd: dir, env: kube });
    assert.equal(bad.code, 6, bad.stderr);
    const calls2 = await kubectlCalls(log);
    assert.equal(calls2.at(-1)?.[2], 'delete');
    assert.deepEqual(
      (JSON.parse(await readFile(state, 'utf8')) as { namespaces: string[] }).namespaces,
      [],
      'namespace left behind after a failed drill',
    );
  });

  it('kubernetes redis: the RDB restored into the Redis of a fresh namespace through kubectl exec, checks there, namespace deleted (also on failure)', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const source = await startRedis({ password: 'drill-source-secret' });
    await fillRedis(source, 300);
    await source.cli('SET', 'config:version', '42');
    const inPod = await startRedis({ appendonly: true }); // the Redis the drill workload runs (empty, AOF on)
    const state = join(dir, 'kube-state.json');
    const log = join(dir, 'kubectl.log');
    await writeFile(state, JSON.stringify({ statefulsets: {}, pods: [], namespaces: [] }));
    await writeFile(
      join(dir, 'drill-redis.yaml'),
      'apiVersion: apps/v1\nkind: StatefulSet\nmetadata: { name: drill-redis }\nspec:\n  replicas: 1\n  template: { metadata: { labels: { app: drill-redis } } }\n',
    );
    const kube = {
      PATH: `${join(ROOT, 'test', 'fixtures', 'kube')}:${process.env.PATH}`,
      IGB_KUBE_STATE: state,
      IGB_KUBECTL_LOG: log,
      SRC_REDIS_PW: 'drill-source-secret',
    };
    const config = (version: string) => ({
      tiers: { gold: { rpoMinutes: 60, rtoMinutes: 60 } },
      envs: {
        prod: {
          tier: 'gold',
          protected: true,
          storage: s3Storage(bucket),
          redis: { host: '127.0.0.1', port: source.port, password: { env: 'SRC_REDIS_PW' } },
          drill: {
            redis: [
              { command: ['DBSIZE'], min: 300 },
              { command: ['GET', 'config:version'], expect: version },
            ],
            kubernetes: {
              context: 'drills',
              redis: {
                manifest: './drill-redis.yaml',
                pod: 'drill-redis-0',
                port: inPod.port,
                restore: { start: inPod.start, configFile: inPod.conf, loadTimeoutSec: 60 },
              },
            },
          },
        },
      },
    });
    await writeConfig(dir, config('42'));
    assert.equal((await runCli(['backup', 'redis', '--env', 'prod'], { cwd: dir, env: kube })).code, 0);
    const sourceDigest = await digest(source);
    await writeFile(log, '');
    const ok = await runCli(['--json', 'drill', 'redis', '--env', 'prod'], { cwd: dir, env: kube });
    assert.equal(ok.code, 0, ok.stderr);
    const rep = parseJson<DrillJson>(ok).reports[0]!;
    assert.match(rep.target, /^drill-redis-0:\d+ in namespace igbackup-drill-\d{14}-[0-9a-f]{4}-redis$/);
    assert.deepEqual(
      rep.checks.map((c) => c.ok),
      [true, true, true],
    );
    assert.equal(await digest(inPod), sourceDigest, 'the drill pod does not hold the backup');
    assert.equal(await inPod.cli('CONFIG', 'GET', 'appendonly'), 'appendonly\nyes', 'AOF was not turned back on');
    assert.equal(await digest(source), sourceDigest, 'the source changed');
    const calls = await kubectlCalls(log);
    const ns = calls[0]?.[4] ?? '';
    assert.deepEqual(calls[0], ['--context', 'drills', 'create', 'namespace', ns]);
    assert.deepEqual(calls[1]?.slice(0, 6), ['--context', 'drills', 'apply', '-n', ns, '-f']);
    const execs = calls.filter((c) => c.includes('exec'));
    assert.ok(
      execs.length > 0 && execs.every((c) => c.includes(ns) && c.includes('drill-redis-0')),
      'a command ran outside the drill pod',
    );
    assert.ok(!calls.some((c) => c.join(' ').includes('drill-source-secret')), 'a password in kubectl argv');
    assert.deepEqual(calls.at(-1), ['--context', 'drills', 'delete', 'namespace', ns, '--wait=false']);

    await writeConfig(dir, config('43'));
    await writeFile(log, '');
    const bad = await runCli(['drill', 'redis', '--env', 'prod'], { cwd: dir, env: kube });
    assert.equal(bad.code, 6, bad.stderr);
    assert.match(bad.stderr, /GET config:version \(got "42", expected "43"\)/);
    const calls2 = await kubectlCalls(log);
    assert.equal(calls2.at(-1)?.[2], 'delete');
    assert.deepEqual(
      (JSON.parse(await readFile(state, 'utf8')) as { namespaces: string[] }).namespaces,
      [],
      'namespace left behind after a failed drill',
    );
    await source.stop();
    await inPod.stop();
  });

  it('kubernetes neo4j: offline restore into the StatefulSet of a fresh namespace (helper pod, check, scale back), Cypher in its pod, namespace deleted', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const { mkdir, readdir } = await import('node:fs/promises');
    const n4j = join(ROOT, 'test', 'fixtures', 'neo4j');
    const kubeBin = join(ROOT, 'test', 'fixtures', 'kube');
    const registry = join(dir, 'bolt-registry');
    await mkdir(registry);
    // The source: a Neo4j on a VM (stand-in service), holding a graph.
    const sourceHome = join(dir, 'source');
    await mkdir(join(sourceHome, 'data', 'databases', 'neo4j'), { recursive: true });
    const graph = JSON.stringify({ nodes: { Person: 7 }, relationships: { KNOWS: 5 } });
    await writeFile(join(sourceHome, 'data', 'databases', 'neo4j', 'store'), graph);
    const sourceEnv = { PATH: `${n4j}:${process.env.PATH}`, IGB_NEO4J_HOME: sourceHome, IGB_NEO4J_REGISTRY: registry };
    await execa(join(n4j, 'neo4j'), ['start'], { env: sourceEnv });
    // The drill workload's Neo4j (what the manifest's pod runs): its own directories and Bolt port, empty, running.
    const podHome = join(dir, 'pod');
    const boltPort = 17000 + Math.floor(Math.random() * 1000);
    await mkdir(join(podHome, 'conf'), { recursive: true });
    await writeFile(
      join(podHome, 'conf', 'neo4j.conf'),
      `server.directories.data=${podHome}/data\nserver.directories.run=${podHome}/run\nserver.bolt.listen_address=127.0.0.1:${boltPort}\n`,
    );
    const state = join(dir, 'kube-state.json');
    const log = join(dir, 'kubectl.log');
    await writeFile(state, JSON.stringify({ statefulsets: {}, pods: [], namespaces: [] }));
    await writeFile(
      join(dir, 'drill-neo4j.yaml'),
      'apiVersion: apps/v1\nkind: StatefulSet\nmetadata: { name: drill-neo4j }\nspec:\n  replicas: 1\n  template: { metadata: { labels: { app: drill-neo4j } } }\n  volumeClaimTemplates: [{ metadata: { name: data } }]\n',
    );
    const podEnv = {
      PATH: `${kubeBin}:${n4j}:${process.env.PATH}`,
      NEO4J_CONF: join(podHome, 'conf'),
      IGB_NEO4J_REGISTRY: registry,
      IGB_NEO4J_LOG: join(dir, 'neo4j.log'),
      IGB_KUBE_STATE: state,
      IGB_KUBECTL_LOG: log,
      IGB_KUBE_SCALE_HOOK: join(n4j, 'scale-hook'),
      DRILL_NEO4J_PW: 'drill-neo4j-secret',
    };
    await execa(join(n4j, 'neo4j'), ['start'], { env: podEnv });
    const config = (persons: string) => ({
      tiers: { gold: { rpoMinutes: 60, rtoMinutes: 60 } },
      envs: {
        prod: {
          tier: 'gold',
          storage: s3Storage(bucket),
          neo4j: {
            service: {
              stop: ['neo4j', 'stop'],
              start: ['neo4j', 'start'],
              status: ['neo4j', 'status'],
              readyTimeoutSec: 5,
            },
          },
          drill: {
            neo4j: [{ cypher: 'MATCH (n:Person) RETURN count(n)', expect: persons }],
            kubernetes: {
              context: 'drills',
              readyTimeoutSec: 10,
              neo4j: {
                manifest: './drill-neo4j.yaml',
                statefulSet: 'drill-neo4j',
                pvc: 'data-drill-neo4j-0',
                image: 'neo4j:5.26-community',
                boltPort,
                password: { env: 'DRILL_NEO4J_PW' },
              },
            },
          },
        },
      },
    });
    await writeConfig(dir, config('7'));
    assert.equal((await runCli(['backup', 'neo4j', '--env', 'prod'], { cwd: dir, env: sourceEnv })).code, 0);
    const ok = await runCli(['--json', 'drill', 'neo4j', '--env', 'prod'], { cwd: dir, env: podEnv });
    assert.equal(ok.code, 0, ok.stderr);
    const rep = parseJson<DrillJson>(ok).reports[0]!;
    assert.match(
      rep.target,
      /^drill-neo4j-0 \(StatefulSet drill-neo4j\) in namespace igbackup-drill-\d{14}-[0-9a-f]{4}-neo4j$/,
    );
    assert.deepEqual(
      rep.checks.map((c) => [c.name, c.ok]),
      [
        ['neo4j-admin database check', true],
        ['MATCH (n:Person) RETURN count(n)', true],
      ],
    );
    assert.equal(
      await readFile(join(podHome, 'data', 'databases', 'neo4j', 'store'), 'utf8'),
      graph,
      'the drill workload does not hold the backup',
    );
    assert.equal(
      await readFile(join(sourceHome, 'data', 'databases', 'neo4j', 'store'), 'utf8'),
      graph,
      'the source changed',
    );
    const calls = await kubectlCalls(log);
    const ns = calls[0]?.[4] ?? '';
    const verbs = calls.map((c) =>
      c
        .filter((x) => !x.startsWith('--overrides=') && !x.startsWith('--timeout='))
        .slice(2, 8)
        .join(' '),
    );
    assert.equal(verbs[0], `create namespace ${ns}`);
    const at = (re: RegExp): number => verbs.findIndex((v) => re.test(v));
    assert.ok(at(new RegExp(`^-n ${ns} scale statefulset drill-neo4j --replicas=0`)) > 0, verbs.join('\n'));
    assert.ok(at(/run igbackup-neo4j-\d{14}-[0-9a-f]{4}/) > at(/scale statefulset drill-neo4j --replicas=0/));
    assert.ok(at(/scale statefulset drill-neo4j --replicas=1/) > at(/run igbackup-neo4j-\d{14}-[0-9a-f]{4}/));
    const cypher = calls.filter((c) => c.includes('cypher-shell'));
    assert.ok(
      cypher.length > 0 && cypher.every((c) => c.includes(ns) && c.includes('drill-neo4j-0')),
      'Cypher did not run in the drill pod',
    );
    assert.ok(!calls.some((c) => c.join(' ').includes('drill-neo4j-secret')), 'a password in kubectl argv');
    assert.deepEqual(calls.at(-1), ['--context', 'drills', 'delete', 'namespace', ns, '--wait=false']);
    assert.deepEqual(await readdir(registry), [String(boltPort)], 'the drill workload was left stopped');
    assert.equal(
      (await execa(join(n4j, 'neo4j'), ['status'], { env: sourceEnv, reject: false })).exitCode,
      0,
      'the source was stopped',
    );

    await writeConfig(dir, config('8'));
    const bad = await runCli(['drill', 'neo4j', '--env', 'prod'], { cwd: dir, env: podEnv });
    assert.equal(bad.code, 6, bad.stderr);
    assert.match(bad.stderr, /MATCH \(n:Person\) RETURN count\(n\) \(got "7", expected "8"\)/);
    assert.deepEqual(
      (JSON.parse(await readFile(state, 'utf8')) as { namespaces: string[] }).namespaces,
      [],
      'namespace left behind after a failed drill',
    );
  });

  it('postgres over SSH: the scratch database is created and checked through the SSH transport', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const db = await makeDatabase(uniqueName('igb_sshdrill'), 80);
    const hostKey = (await readFile(sshServer.hostPubFile, 'utf8')).trim().split(/\s+/);
    await writeFile(join(dir, 'known_hosts'), `[127.0.0.1]:${sshServer.port} ${hostKey[0]} ${hostKey[1]}\n`);
    const transport = {
      type: 'ssh',
      host: '127.0.0.1',
      port: sshServer.port,
      user: sshServer.user,
      identityFile: sshServer.key,
      knownHosts: join(dir, 'known_hosts'),
    };
    await writeConfig(dir, {
      tiers: { gold: { rpoMinutes: 60, rtoMinutes: 60 } },
      envs: {
        vm: {
          tier: 'gold',
          storage: s3Storage(bucket),
          postgres: pgSection([db], { transport }),
          drill: { postgres: [{ sql: 'SELECT count(*) FROM customers', expect: '80' }] },
        },
      },
    });
    assert.equal((await runCli(['backup', 'postgres', '--env', 'vm'], { cwd: dir })).code, 0);
    const r = await runCli(['--json', 'drill', 'all', '--env', 'vm'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const rep = parseJson<DrillJson>(r).reports;
    assert.equal(rep.length, 1);
    assert.deepEqual(
      rep[0]!.checks.map((c) => c.ok),
      [true, true],
    );
    assert.equal(await psql('postgres', `SELECT count(*) FROM pg_database WHERE datname LIKE '${db}__igb_%'`), '0');
  });

  it('neo4j: loads the dump into a throwaway DBMS here, checks it, runs the Cypher smoke tests, always stops it (stand-ins)', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const home = join(dir, 'home');
    const registry = join(dir, 'bolt-registry');
    const log = join(dir, 'neo4j.log');
    const { mkdir, readdir } = await import('node:fs/promises');
    await mkdir(join(home, 'data', 'databases', 'neo4j'), { recursive: true });
    await mkdir(registry);
    // The stand-in's store describes the graph the stand-in cypher-shell answers about.
    await writeFile(
      join(home, 'data', 'databases', 'neo4j', 'store'),
      JSON.stringify({ nodes: { Person: 3, Movie: 2 }, relationships: { KNOWS: 2, ACTED_IN: 4 } }),
    );
    const n4j = join(ROOT, 'test', 'fixtures', 'neo4j');
    const env = {
      PATH: `${n4j}:${process.env.PATH}`,
      IGB_NEO4J_HOME: home,
      IGB_NEO4J_REGISTRY: registry,
      IGB_NEO4J_LOG: log,
    };
    await execa(join(n4j, 'neo4j'), ['start'], { env });
    const config = async (persons: string, readyTimeoutSec = 5, cypherShell = 'cypher-shell'): Promise<string> =>
      writeConfig(dir, {
        tiers: { gold: { rpoMinutes: 60, rtoMinutes: 60 } },
        envs: {
          prod: {
            tier: 'gold',
            storage: s3Storage(bucket),
            neo4j: {
              service: {
                stop: ['neo4j', 'stop'],
                start: ['neo4j', 'start'],
                status: ['neo4j', 'status'],
                readyTimeoutSec: 5,
              },
            },
            drill: {
              neo4j: [
                { cypher: 'MATCH (n:Person) RETURN count(n) AS persons', expect: persons },
                { cypher: 'MATCH ()-[r:KNOWS]->() RETURN count(r);', expect: '2' },
                { database: 'other', cypher: 'MATCH (n) RETURN count(n)', expect: '999' },
              ],
              neo4jScratch: { readyTimeoutSec, cypherShell },
            },
          },
        },
      });
    await config('3');
    assert.equal((await runCli(['backup', 'neo4j', '--env', 'prod'], { cwd: dir, env })).code, 0);
    await writeFile(log, '');
    const ok = await runCli(['--json', 'drill', 'neo4j', '--env', 'prod'], { cwd: dir, env });
    assert.equal(ok.code, 0, ok.stderr);
    const rep = parseJson<DrillJson>(ok).reports[0]!;
    assert.equal(rep.ok, true);
    assert.match(rep.target, /throwaway Neo4j DBMS on 127\.0\.0\.1:\d+/);
    assert.deepEqual(
      rep.checks.map((c) => [c.name, c.ok]),
      [
        ['neo4j-admin database check', true],
        ['MATCH (n:Person) RETURN count(n) AS persons', true],
        ['MATCH ()-[r:KNOWS]->() RETURN count(r);', true],
      ],
    );
    const calls = (await readFile(log, 'utf8')).trim().split('\n');
    const step = (re: RegExp): number => calls.findIndex((c) => re.test(c));
    assert.ok(step(/^neo4j-admin database load neo4j --from-stdin/) >= 0, calls.join('\n'));
    assert.ok(step(/^neo4j-admin database check neo4j/) > step(/^neo4j-admin database load/));
    assert.ok(step(/^neo4j start/) > step(/^neo4j-admin database check/));
    assert.ok(
      step(/^cypher-shell -a neo4j:\/\/127\.0\.0\.1:\d+ -d neo4j --format plain --non-interactive$/) >
        step(/^neo4j start/),
    );
    assert.equal(calls[calls.length - 1], 'neo4j stop');
    assert.deepEqual(await readdir(registry), [], 'the scratch DBMS was left running');
    // The source DBMS was never touched: still running, same store.
    assert.equal((await execa(join(n4j, 'neo4j'), ['status'], { env, reject: false })).exitCode, 0);

    // A smoke test that gets another answer fails the drill, with the check named; the scratch DBMS is stopped.
    await config('4');
    const wrong = await runCli(['drill', 'neo4j', '--env', 'prod'], { cwd: dir, env });
    assert.equal(wrong.code, 6, wrong.stderr);
    assert.match(wrong.stderr, /MATCH \(n:Person\) RETURN count\(n\) AS persons \(got "3", expected "4"\)/);
    assert.deepEqual(await readdir(registry), []);

    // A scratch DBMS that never answers Cypher: the drill fails after the ready timeout and still stops it.
    await config('3', 2);
    const silent = await runCli(['drill', 'neo4j', '--env', 'prod'], {
      cwd: dir,
      env: { ...env, IGB_NEO4J_FAIL: 'cypher' },
    });
    assert.equal(silent.code, 6, silent.stderr);
    assert.match(silent.stderr, /the scratch Neo4j answering Cypher.*timed out after 2 s/s);
    assert.deepEqual(await readdir(registry), []);

    // No cypher-shell at all: said at once (not after the 120 s ready timeout), and the DBMS is still stopped.
    await config('3', 120, join(dir, 'no-such-cypher-shell'));
    const t0 = Date.now();
    const missing = await runCli(['drill', 'neo4j', '--env', 'prod'], { cwd: dir, env });
    assert.equal(missing.code, 6, missing.stderr);
    assert.match(missing.stderr, /install cypher-shell/);
    assert.ok(Date.now() - t0 < 60_000, 'waited for the ready timeout');
    assert.deepEqual(await readdir(registry), []);

    await config('3');
    const bad = await runCli(['drill', 'all', '--env', 'prod'], { cwd: dir, env: { ...env, IGB_NEO4J_FAIL: 'check' } });
    assert.equal(bad.code, 6, bad.stderr);
    assert.match(bad.stderr, /drill failed: neo4j\/neo4j: neo4j-admin database check/);
  });
});
