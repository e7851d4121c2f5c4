// The Neo4j engine against the real Neo4j Community 5.26 (assembled from Maven Central by scripts/services/neo4j.sh),
// not the stand-ins: the real neo4j-admin's dump --to-stdout, load --from-stdin and database check, the real service's
// stop/start timing, verify and drill in a throwaway DBMS with igbackup's own neo4j.conf, Cypher through the real
// cypher-shell; the graph compared before and after (nodes, relationships, properties).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseJson, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { knownHostsFile, makeBucket, sshServer, sshTransport } from '../helpers/servers.js';
import { realNeo4j } from '../helpers/neo4j-real.js';
import { rawFile, readManifest } from '../helpers/crafted.js';

/** neo4j.service for the real launchers on PATH; a stop that may take a while on two shared cores. */
const service = {
  stop: ['neo4j', 'stop'],
  start: ['neo4j', 'start'],
  status: ['neo4j', 'status'],
  readyTimeoutSec: 180,
  startAttempts: 2,
};

describe('neo4j community against the real Neo4j 5.26 (Maven Central)', () => {
  it('backup, restore, verify and drill round-trip the graph through the real neo4j-admin and cypher-shell', async () => {
    const n = await realNeo4j();
    try {
      await n.cypher(
        "UNWIND range(1, 400) AS i CREATE (:Person {id: i, name: 'person-' + toString(i)});" +
          'MATCH (a:Person), (b:Person) WHERE b.id = a.id + 1 CREATE (a)-[:KNOWS {since: a.id}]->(b);',
      );
      const before = await n.fingerprint();
      assert.match(before, /^400, 80200, 400, 399, 79800$/);
      const dir = await tempDir();
      await writeConfig(dir, {
        envs: {
          vm: {
            storage: s3Storage(await makeBucket()),
            neo4j: { service },
            drill: {
              neo4j: [
                { cypher: 'MATCH (p:Person) RETURN count(p);', expect: '400' },
                {
                  cypher: "MATCH (:Person {id: 7})-[k:KNOWS]->(b) RETURN b.name + ':' + toString(k.since);",
                  expect: '"person-8:7"',
                },
              ],
            },
          },
        },
      });
      const cli = (...args: string[]) => runCli(args, { cwd: dir, env: n.env });

      const b = await cli('--json', 'backup', 'neo4j', '--env', 'vm');
      assert.equal(b.code, 0, b.stderr);
      const key = parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
      assert.ok(await n.running(), 'Neo4j is started again after the dump');
      assert.equal(await n.fingerprint(), before, 'the backup changed nothing');

      const v = await cli('verify', 'neo4j', '--env', 'vm', '--latest');
      assert.equal(v.code, 0, v.stderr);
      assert.match(v.stdout + v.stderr, /consistency check/i);

      await n.cypher('MATCH (p:Person) WHERE p.id > 100 DETACH DELETE p;');
      assert.notEqual(await n.fingerprint(), before);
      const r = await cli('--json', 'restore', 'neo4j', '--env', 'vm', '--from', key);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(parseJson<{ result: { checked: boolean; neo4j: string } }>(r).result.neo4j, 'running');
      assert.equal(await n.fingerprint(), before, 'the restored graph is the backed-up one');

      const d = await cli('--json', 'drill', 'neo4j', '--env', 'vm');
      assert.equal(d.code, 0, d.stderr);
      const checks = parseJson<{ reports: { checks: { name: string; ok: boolean }[] }[] }>(d).reports[0]!.checks;
      assert.ok(checks.length >= 3 && checks.every((c) => c.ok), JSON.stringify(checks));
      assert.equal(await n.fingerprint(), before, 'the drill touched the source');
    } finally {
      await n.stop();
    }
  });

  it('a stop that does not stop the real DBMS: nothing is dumped or stored, exit 1, Neo4j running and not called DOWN', async () => {
    const n = await realNeo4j();
    try {
      const dir = await tempDir();
      // A stop command that does not stop: igbackup waits for the real status to say stopped (bounded), never dumps a
      // database in use, and finds it running when it brings it back (the real `neo4j start` refuses a running one).
      await writeConfig(dir, {
        envs: {
          vm: {
            storage: s3Storage(await makeBucket()),
            neo4j: { service: { ...service, stop: ['true'], readyTimeoutSec: 5 } },
          },
        },
      });
      const b = await runCli(['backup', 'neo4j', '--env', 'vm'], { cwd: dir, env: n.env });
      assert.equal(b.code, 1, b.stderr);
      assert.match(b.stderr, /Neo4j stop/);
      assert.match(b.stderr, /recovery: Neo4j is running/);
      assert.doesNotMatch(b.stderr, /DOWN/);
      const l = await runCli(['--json', 'list', 'neo4j', '--env', 'vm'], { cwd: dir, env: n.env });
      const listed = parseJson<{ backups: unknown[]; orphans: unknown[] }>(l);
      assert.deepEqual([listed.backups, listed.orphans], [[], []]);
      assert.ok(await n.running());
      assert.equal(await n.cypher('RETURN 1;'), '1');
    } finally {
      await n.stop();
    }
  });

  it('a dump that is bad inside but matches its manifest: the real load and check refuse it; a restore puts the database back', async () => {
    const n = await realNeo4j();
    try {
      await n.cypher("UNWIND range(1, 300) AS i CREATE (:Person {id: i, name: 'person-' + toString(i)});");
      const before = await n.fingerprint();
      const dir = await tempDir();
      const root = join(dir, 'store');
      await writeConfig(dir, {
        envs: { vm: { storage: { type: 'file', path: root }, neo4j: { service, compression: 'none' } } },
      });
      const cli = (...args: string[]) => runCli(args, { cwd: dir, env: n.env });
      const b = await cli('--json', 'backup', 'neo4j', '--env', 'vm');
      assert.equal(b.code, 0, b.stderr);
      const key = parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
      // Damage the dump in its middle and make the manifest agree (size and sha256): only the real reader can tell.
      const raw = rawFile(root);
      const dump = await raw.get(key);
      for (let i = Math.floor(dump.length / 3); i < Math.floor(dump.length / 3) + 512; i++) dump[i] = dump[i]! ^ 0xff;
      await raw.put(key, dump);
      const m = await readManifest(raw, key);
      const sha = createHash('sha256').update(dump).digest('hex');
      Object.assign(m.artifacts[0]!, { sha256: sha, rawSha256: sha });
      await raw.put(`${key}.manifest.json`, JSON.stringify(m, null, 2));

      const v = await cli('verify', 'neo4j', '--env', 'vm', '--from', key);
      assert.equal(v.code, 3, v.stderr);
      assert.match(v.stderr, /rejects the artifact/);

      await n.cypher('MATCH (p:Person) WHERE p.id > 200 DETACH DELETE p;');
      const changed = await n.fingerprint();
      const r = await cli('restore', 'neo4j', '--env', 'vm', '--from', key);
      assert.notEqual(r.code, 0, r.stderr);
      assert.match(r.stderr, /recovery: put the previous "neo4j" back .*: ok/);
      assert.ok(await n.running());
      assert.equal(await n.fingerprint(), changed, 'the database is as it was before the restore');
      assert.notEqual(changed, before);
    } finally {
      await n.stop();
    }
  });

  it('over SSH: the real DBMS run by the SSH user is backed up and restored through the SSH transport', async () => {
    const n = await realNeo4j({ owner: sshServer.user });
    try {
      await n.cypher("UNWIND range(1, 200) AS i CREATE (:Person {id: i, name: 'person-' + toString(i)});");
      const before = await n.fingerprint();
      const dir = await tempDir();
      await knownHostsFile(dir);
      await writeConfig(dir, {
        envs: {
          vm: {
            storage: s3Storage(await makeBucket()),
            neo4j: {
              transport: sshTransport(dir),
              neo4jAdmin: n.bin.admin,
              service: {
                ...service,
                stop: [n.bin.neo4j, 'stop'],
                start: [n.bin.neo4j, 'start'],
                status: [n.bin.neo4j, 'status'],
              },
            },
          },
        },
      });
      const cli = (...args: string[]) => runCli(args, { cwd: dir, env: n.env });
      const b = await cli('--json', 'backup', 'neo4j', '--env', 'vm');
      assert.equal(b.code, 0, b.stderr);
      const key = parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
      assert.ok(await n.running());
      await n.cypher('MATCH (p:Person) WHERE p.id > 50 DETACH DELETE p;');
      const r = await cli('restore', 'neo4j', '--env', 'vm', '--from', key);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await n.fingerprint(), before);
      assert.ok(await n.running());
    } finally {
      await n.stop();
    }
  });
});
