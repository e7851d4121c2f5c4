// The engine registry: every engine the config knows is registered, says how its restores lock, and which flags apply.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ENGINES } from '../../../src/config/schema.js';
import { ENGINE_REGISTRY, engineNamed, enginesTaking, flagsNotFor } from '../../../src/engines/registry.js';

describe('engine registry', () => {
  it('registers each engine under its own name, with its restore lock', () => {
    assert.deepEqual([...ENGINES], ['postgres', 'redis', 'neo4j']);
    for (const name of ENGINES) assert.equal(ENGINE_REGISTRY[name].name, name);
    assert.equal(engineNamed('postgres')?.restoreLock, 'per-target');
    assert.equal(engineNamed('redis')?.restoreLock, 'engine');
    assert.equal(engineNamed('neo4j')?.restoreLock, 'engine');
    assert.equal(engineNamed('toString'), undefined, 'only own keys are engines');
  });

  it('says which flags do not apply, and which engines take a flag', () => {
    assert.deepEqual(flagsNotFor('redis', 'restore', ['env', 'latest', 'targetDb', 'owner']), ['targetDb', 'owner']);
    assert.deepEqual(flagsNotFor('postgres', 'restore', ['targetDb', 'owner', 'jobs']), []);
    assert.deepEqual(flagsNotFor('neo4j', 'backup', ['mode', 'database']), ['mode']);
    assert.deepEqual(enginesTaking('backup', 'database'), ['postgres', 'neo4j']);
    assert.deepEqual(enginesTaking('restore', 'withGlobals'), ['postgres']);
    assert.deepEqual(flagsNotFor('unknown', 'backup', ['env']), ['env'], 'an unknown engine takes nothing');
  });
});
