// Neo4j engine as data: 5.x and 4.4 syntax, online backup, helper pod overrides.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as neo4j from '../../src/engines/neo4j.js';

describe('neo4j engine', () => {
  it('speaks 5.x and 4.4 neo4j-admin', () => {
    const v5 = { admin: 'neo4j-admin', syntax: '5' as const };
    const v44 = { admin: '/opt/neo4j/bin/neo4j-admin', syntax: '4.4' as const };
    assert.deepEqual(neo4j.dumpCommand(v5, 'neo4j').argv, ['neo4j-admin', 'database', 'dump', 'neo4j', '--to-stdout']);
    assert.deepEqual(neo4j.dumpCommand(v44, 'graph').argv, ['/opt/neo4j/bin/neo4j-admin', 'dump', '--database=graph', '--to=-']);
    assert.deepEqual(neo4j.loadCommand(v5, 'neo4j').argv.slice(1), ['database', 'load', 'neo4j', '--from-stdin', '--overwrite-destination=true']);
    assert.equal(neo4j.loadCommand(v44, 'g').stdin, 'pipe');
    assert.deepEqual(neo4j.backupCommand(v5, 'neo4j', '/b', 'db1:6362').argv.slice(1), ['database', 'backup', '--from=db1:6362', '--to-path=/b', '--type=FULL', 'neo4j']);
  });

  it('builds a helper pod that mounts the data PVC and sleeps', () => {
    const o = JSON.parse(neo4j.helperPodOverrides({ name: 'h', image: 'neo4j:5', pvc: 'data-neo4j-0', mountPath: '/data' })) as {
      spec: { volumes: { persistentVolumeClaim: { claimName: string } }[]; containers: { image: string; volumeMounts: { mountPath: string }[] }[] };
    };
    assert.equal(o.spec.volumes[0]?.persistentVolumeClaim.claimName, 'data-neo4j-0');
    assert.equal(o.spec.containers[0]?.image, 'neo4j:5');
    assert.equal(o.spec.containers[0]?.volumeMounts[0]?.mountPath, '/data');
  });
});
