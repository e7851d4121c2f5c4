// Method tar against the real Neo4j Community 5.26: the whole data directory (every database, system included)
// archived after a clean shutdown, restored by moving the old entries aside, unpacking, checking every database with
// the real neo4j-admin and starting; verify and drill unpack it into a throwaway DBMS. The graph compared before and after.

import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseJson, runCli, tempDir, writeConfig } from '../helpers/cli.js';
import { realNeo4j, realService as service } from '../helpers/neo4j-real.js';
import { rawFile, readManifest } from '../helpers/crafted.js';

describe('neo4j community --method tar against the real Neo4j 5.26', () => {
  it('backup, restore, verify and drill of the whole data directory round-trip the graph', async () => {
    const n = await realNeo4j();
    try {
      await n.cypher(
        "UNWIND range(1, 300) AS i CREATE (:Person {id: i, name: 'person-' + toString(i)});" +
          'MATCH (a:Person), (b:Person) WHERE b.id = a.id + 1 CREATE (a)-[:KNOWS {since: a.id}]->(b);',
      );
      const before = await n.fingerprint();
      const dir = await tempDir();
      const root = join(dir, 'store');
      const dataDir = join(n.home, 'data');
      await writeConfig(dir, {
        envs: {
          vm: {
            storage: { type: 'file', path: root },
            neo4j: { service, method: 'tar', dataDir },
            drill: { neo4j: [{ cypher: 'MATCH (p:Person) RETURN count(p);', expect: '300' }] },
          },
        },
      });
      const cli = (...args: string[]) => runCli(args, { cwd: dir, env: n.env });

      const b = await cli('--json', 'backup', 'neo4j', '--env', 'vm');
      assert.equal(b.code, 0, b.stderr);
      const res = parseJson<{ results: { key: string; database: string }[] }>(b).results;
      assert.equal(res.length, 1);
      assert.equal(res[0]!.database, '_dbms');
      const key = res[0]!.key;
      assert.match(key, /^vm\/neo4j\/_dbms_\d{8}T\d{6}\.\d{3}Z\.tar\.zst$/);
      const m = await readManifest(rawFile(root), key);
      assert.equal(m.format, 'neo4j-store-tar');
      const tools = (m as unknown as { tools: Record<string, string> }).tools;
      assert.match(tools['neo4j-admin'] ?? '', /^5\.26\.\d+$/, 'the manifest records the Neo4j version');
      assert.deepEqual(tools.databases?.split(',').sort(), ['neo4j', 'system']);
      assert.ok(await n.running(), 'Neo4j is started again after the archive');
      assert.equal(await n.fingerprint(), before, 'the backup changed nothing');

      const st = await cli('--json', 'status', '--env', 'vm');
      const rows = parseJson<{ rows: { engine: string; database: string; lastKey?: string }[] }>(st).rows;
      assert.ok(
        rows.some((r) => r.engine === 'neo4j' && r.database === 'neo4j' && r.lastKey === key),
        `the tar counts as the newest backup of database neo4j: ${JSON.stringify(rows)}`,
      );

      const v = await cli('verify', 'neo4j', '--env', 'vm', '--from', key);
      assert.equal(v.code, 0, v.stderr);

      await n.cypher('MATCH (p:Person) WHERE p.id > 100 DETACH DELETE p;');
      assert.notEqual(await n.fingerprint(), before);
      const r = await cli('--json', 'restore', 'neo4j', '--env', 'vm', '--latest');
      assert.equal(r.code, 0, r.stderr);
      const rr = parseJson<{ result: { checked: boolean; neo4j: string; database: string } }>(r).result;
      assert.deepEqual([rr.checked, rr.neo4j, rr.database], [true, 'running', '_dbms']);
      assert.equal(await n.fingerprint(), before, 'the restored graph is the archived one');
      assert.deepEqual(
        (await readdir(dataDir)).filter((e) => e.startsWith('.igbackup-previous-')),
        [],
        'the put-aside entries are removed after a restore that passed its check',
      );

      const d = await cli('--json', 'drill', 'neo4j', '--env', 'vm', '--from', key);
      assert.equal(d.code, 0, d.stderr);
      const checks = parseJson<{ reports: { checks: { name: string; ok: boolean }[] }[] }>(d).reports[0]!.checks;
      assert.ok(checks.length >= 2 && checks.every((c) => c.ok), JSON.stringify(checks));
      assert.equal(await n.fingerprint(), before, 'the drill touched the source');
    } finally {
      await n.stop();
    }
  });
});
