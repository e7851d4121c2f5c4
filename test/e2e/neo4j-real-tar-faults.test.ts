// Method tar against the real Neo4j Community 5.26 when the archive cannot be restored: from another Neo4j version
// (refused before anything is touched), or cut short inside while its manifest agrees (the real tar fails while
// unpacking: the previous data directory is moved back and Neo4j started on it).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseJson, runCli, tempDir, writeConfig } from '../helpers/cli.js';
import { realNeo4j, realService as service } from '../helpers/neo4j-real.js';
import { rawFile, readManifest } from '../helpers/crafted.js';

describe('neo4j community --method tar faults against the real Neo4j 5.26', () => {
  it('another version is refused before the stop; a short archive is undone: the previous data back, Neo4j running', async () => {
    const n = await realNeo4j();
    try {
      await n.cypher("UNWIND range(1, 200) AS i CREATE (:Person {id: i, name: 'person-' + toString(i)});");
      const dir = await tempDir();
      const root = join(dir, 'store');
      const dataDir = join(n.home, 'data');
      await writeConfig(dir, {
        envs: { vm: { storage: { type: 'file', path: root }, neo4j: { service, dataDir, compression: 'none' } } },
      });
      const cli = (...args: string[]) => runCli(args, { cwd: dir, env: n.env });
      const b = await cli('--json', 'backup', 'neo4j', '--env', 'vm', '--method', 'tar');
      assert.equal(b.code, 0, b.stderr);
      const key = parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
      await n.cypher('MATCH (p:Person) WHERE p.id > 50 DETACH DELETE p;');
      const changed = await n.fingerprint();
      const raw = rawFile(root);
      const m = await readManifest(raw, key);
      const tools = (m as unknown as { tools: Record<string, string> }).tools;
      const version = tools['neo4j-admin'];

      // Written by another version: exit 2 naming both versions, nothing stopped or changed.
      tools['neo4j-admin'] = '5.1.0';
      await raw.put(`${key}.manifest.json`, JSON.stringify(m, null, 2));
      const other = await cli('restore', 'neo4j', '--env', 'vm', '--from', key);
      assert.equal(other.code, 2, other.stderr);
      assert.match(other.stderr, /a tar of Neo4j 5\.1\.0's data directory; .* runs Neo4j 5\.26\.\d+/);
      assert.match(other.stderr, /nothing was touched/);
      assert.doesNotMatch(other.stderr, /stopping Neo4j/);
      assert.ok(await n.running());

      // Cut short inside, the manifest made to agree: only unpacking can tell; everything is put back.
      const tar = await raw.get(key);
      const cut = tar.subarray(0, Math.floor(tar.length / 2));
      await raw.put(key, cut);
      const sha = createHash('sha256').update(cut).digest('hex');
      tools['neo4j-admin'] = version as string;
      Object.assign(m.artifacts[0]!, { sha256: sha, rawSha256: sha, bytes: cut.length, rawBytes: cut.length });
      await raw.put(`${key}.manifest.json`, JSON.stringify(m, null, 2));
      const r = await cli('restore', 'neo4j', '--env', 'vm', '--from', key);
      assert.notEqual(r.code, 0, r.stderr);
      assert.match(r.stderr, /unpacking the archive/);
      assert.match(r.stderr, /put the previous data directory back .*: ok/);
      assert.ok(await n.running(), 'Neo4j is started again on the previous data');
      assert.equal(await n.fingerprint(), changed, 'the data is as it was before the restore');
      assert.deepEqual(
        (await readdir(dataDir)).filter((e) => e.startsWith('.igbackup-previous-')),
        [],
      );
    } finally {
      await n.stop();
    }
  });
});
