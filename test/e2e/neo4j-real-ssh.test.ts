// The real Neo4j Community 5.26 run by the SSH test user, backed up and restored through the SSH transport.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseJson, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { knownHostsFile, makeBucket, sshServer, sshTransport } from '../helpers/servers.js';
import { realNeo4j, realService as service } from '../helpers/neo4j-real.js';

describe('neo4j community over SSH against the real Neo4j 5.26', () => {
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
