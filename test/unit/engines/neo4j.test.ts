// Neo4j engine as data: 5.x and 4.4 syntax, online backup, helper pod overrides.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as neo4j from '../../../src/engines/neo4j/commands.js';

describe('neo4j engine', () => {
  it('speaks 5.x and 4.4 neo4j-admin', () => {
    const v5 = { admin: 'neo4j-admin', syntax: '5' as const };
    const v44 = { admin: '/opt/neo4j/bin/neo4j-admin', syntax: '4.4' as const };
    assert.deepEqual(neo4j.dumpCommand(v5, 'neo4j').argv, ['neo4j-admin', 'database', 'dump', 'neo4j', '--to-stdout']);
    assert.deepEqual(neo4j.dumpCommand(v44, 'graph').argv, [
      '/opt/neo4j/bin/neo4j-admin',
      'dump',
      '--database=graph',
      '--to=-',
    ]);
    assert.deepEqual(neo4j.loadCommand(v5, 'neo4j').argv.slice(1), [
      'database',
      'load',
      'neo4j',
      '--from-stdin',
      '--overwrite-destination=true',
    ]);
    assert.equal(neo4j.loadCommand(v44, 'g').stdin, 'pipe');
    assert.deepEqual(neo4j.backupCommand(v5, 'neo4j', '/b', 'db1:6362').argv.slice(1), [
      'database',
      'backup',
      '--from=db1:6362',
      '--to-path=/b',
      '--type=FULL',
      'neo4j',
    ]);
  });

  it('builds a helper pod that mounts the data PVC and sleeps', () => {
    const o = JSON.parse(
      neo4j.helperPodOverrides({ name: 'h', image: 'neo4j:5', pvc: 'data-neo4j-0', mountPath: '/data' }),
    ) as {
      spec: {
        volumes: { persistentVolumeClaim: { claimName: string } }[];
        containers: { image: string; volumeMounts: { mountPath: string }[] }[];
      };
    };
    assert.equal(o.spec.volumes[0]?.persistentVolumeClaim.claimName, 'data-neo4j-0');
    assert.equal(o.spec.containers[0]?.image, 'neo4j:5');
    assert.equal(o.spec.containers[0]?.volumeMounts[0]?.mountPath, '/data');
  });

  it('writes a scratch neo4j.conf of its own: directories, loopback Bolt, no HTTP, no auth (5.x and 4.4 names)', () => {
    const s = { root: '/tmp/x', boltPort: 40123, heap: '512m', pageCache: '256m', edition: 'community' as const };
    const five = neo4j.scratchConf('5', s).split('\n');
    for (const line of [
      'server.directories.data=/tmp/x/data',
      'server.directories.run=/tmp/x/run',
      'server.bolt.listen_address=127.0.0.1:40123',
      'server.http.enabled=false',
      'dbms.security.auth_enabled=false',
      'server.memory.heap.max_size=512m',
    ]) {
      assert.ok(five.includes(line), line);
    }
    assert.ok(
      !five.some((l) => l.startsWith('server.backup')),
      "an Enterprise-only key would fail Community's strict validation",
    );
    assert.ok(neo4j.scratchConf('5', { ...s, edition: 'enterprise' }).includes('server.backup.enabled=false'));
    const old = neo4j.scratchConf('4.4', s).split('\n');
    assert.ok(
      old.includes('dbms.connector.bolt.listen_address=127.0.0.1:40123') &&
        old.includes('dbms.directories.data=/tmp/x/data'),
    );
    assert.ok(!old.some((l) => l.startsWith('server.')));
  });

  it('runs cypher-shell with the query on stdin and reads --format plain output', () => {
    const c = neo4j.cypherCommand('cypher-shell', 40123, 'neo4j');
    assert.deepEqual(c.argv, [
      'cypher-shell',
      '-a',
      'neo4j://127.0.0.1:40123',
      '-d',
      'neo4j',
      '--format',
      'plain',
      '--non-interactive',
    ]);
    assert.equal(neo4j.parsePlain('count(n)\n1000\n'), '1000');
    assert.equal(neo4j.parsePlain('name\r\n"a"\r\n"b"\r\n'), '"a"\n"b"');
    assert.equal(neo4j.parsePlain(''), '');
    assert.equal(neo4j.cypherInput('  RETURN 1 '), 'RETURN 1;\n');
    assert.equal(neo4j.cypherInput('MATCH (n) RETURN count(n);'), 'MATCH (n) RETURN count(n);\n');
  });
});
