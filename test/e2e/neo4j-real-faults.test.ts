// The real Neo4j Community 5.26 under faults it can really show: a stop that does not stop, a dump that is bad inside
// but agrees with its manifest (only the real load and check can tell).

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseJson, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { makeBucket } from '../helpers/servers.js';
import { realNeo4j, realService as service } from '../helpers/neo4j-real.js';
import { rawFile, readManifest } from '../helpers/crafted.js';

describe('neo4j community faults against the real Neo4j 5.26', () => {
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
});
