// The Neo4j engine against the real Neo4j Community 5.26 (assembled from Maven Central by scripts/services/neo4j.sh),
// not the stand-ins: the real neo4j-admin's dump --to-stdout, load --from-stdin and database check, the real service's
// stop/start timing, verify and drill in a throwaway DBMS with igbackup's own neo4j.conf, Cypher through the real
// cypher-shell; the graph compared before and after (nodes, relationships, properties). Each file of the real-Neo4j
// tests (neo4j-real*.test.ts) starts DBMSs of its own, so each has its own time budget.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseJson, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { makeBucket } from '../helpers/servers.js';
import { realNeo4j, realService as service } from '../helpers/neo4j-real.js';

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
});
