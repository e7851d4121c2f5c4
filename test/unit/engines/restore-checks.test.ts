// Restore preflight as data: the read-only path-check script (paths as arguments, never spliced), its parser, and
// what the Redis and Neo4j engines ask it to check.

import assert from 'node:assert/strict';
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import * as files from '../../../src/engines/files.js';
import * as neo4j from '../../../src/engines/neo4j/commands.js';
import * as redis from '../../../src/engines/redis/commands.js';
import { tempDir } from '../../helpers/cli.js';

async function runChecks(checks: files.PathCheck[]): Promise<string[]> {
  const spec = files.pathChecksCommand(checks);
  const r = await execa(spec.argv[0] as string, spec.argv.slice(1));
  return files.pathProblems(checks, r.stdout, 'here');
}

const check = (kind: files.PathCheckKind, path: string): files.PathCheck => ({ kind, path, what: kind, why: 'fix it' });

describe('path checks on the host', () => {
  it('finds each kind of problem, and none where things are right', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'file'), 'x');
    await writeFile(join(dir, 'script'), '#!/bin/sh\n');
    await chmod(join(dir, 'script'), 0o755);
    await mkdir(join(dir, 'sub'));
    const ok = await runChecks([
      check('dir-writable', dir),
      check('dir-creatable', join(dir, 'new', 'deeper')),
      check('file-replaceable', join(dir, 'file')),
      check('file-replaceable', join(dir, 'absent')),
      check('file-writable', join(dir, 'file')),
      check('runnable', join(dir, 'script')),
      check('runnable', 'sh'),
      check('absent', join(dir, 'not-there')),
    ]);
    assert.deepEqual(ok, []);
    const bad = await runChecks([
      check('dir-writable', join(dir, 'missing')),
      check('dir-creatable', join(dir, 'file', 'work')),
      check('file-replaceable', join(dir, 'sub')),
      check('file-writable', join(dir, 'missing')),
      check('runnable', join(dir, 'file')),
      check('runnable', join(dir, 'nope')),
      check('runnable', 'igbackup-no-such-program'),
      check('absent', join(dir, 'file')),
    ]);
    assert.equal(bad.length, 8, bad.join('\n'));
    assert.match(bad[0]!, /^dir-writable .*\/missing does not exist for user "\w+" on here: fix it$/);
    assert.match(bad[1]!, /is not under a directory/);
    assert.match(bad[2]!, /is not a regular file/);
    assert.match(bad[3]!, /does not exist/);
    assert.match(bad[4]!, /is not an executable file/);
    assert.match(bad[5]!, /does not exist/);
    assert.match(bad[6]!, /igbackup-no-such-program is not found in PATH/);
    assert.match(bad[7]!, /\/file exists already/);
  });

  it('passes paths as arguments: shell syntax in a path is never run', async () => {
    const dir = await tempDir();
    const evil = join(dir, '$(touch pwned)`touch pwned2`"; touch pwned3; "');
    const spec = files.pathChecksCommand([check('dir-writable', evil), check('runnable', evil)]);
    assert.ok(!spec.argv[2]!.includes(dir), 'a path was spliced into the script');
    const r = await execa(spec.argv[0] as string, spec.argv.slice(1), { cwd: dir });
    assert.equal(
      files.pathProblems([check('dir-writable', evil), check('runnable', evil)], r.stdout, 'here').length,
      2,
    );
    assert.deepEqual(await readdir(dir), []);
  });

  it('an answer that is missing or out of step is a problem, not a pass', () => {
    const checks = [check('dir-writable', '/a'), check('runnable', 'b')];
    assert.deepEqual(files.pathProblems(checks, 'user\tredis\ndir-writable\tok\n', 'h'), [
      'runnable b could not be checked on h (no answer from the check script)',
    ]);
    assert.equal(files.pathProblems(checks, '', 'h').length, 2);
  });
});

describe('what the engines check before a restore', () => {
  it('redis: dir, dump, config file and its directory (when given), no saved config left by an earlier run, start and stop commands', () => {
    const c = redis.restorePathChecks({
      dir: '/var/lib/redis',
      rdbPath: '/var/lib/redis/dump.rdb',
      configFile: '/etc/redis/redis.conf',
      start: ['systemctl', 'start', 'redis'],
      stop: ['/usr/local/bin/stop-redis'],
    });
    assert.deepEqual(
      c.map((x) => [x.kind, x.path]),
      [
        ['dir-writable', '/var/lib/redis'],
        ['file-replaceable', '/var/lib/redis/dump.rdb'],
        ['file-writable', '/etc/redis/redis.conf'],
        ['dir-writable', '/etc/redis'],
        ['absent', '/etc/redis/redis.conf.igbackup-orig'],
        ['runnable', 'systemctl'],
        ['runnable', '/usr/local/bin/stop-redis'],
      ],
    );
    assert.match(c[0]!.why, /dump\.rdb\.igbackup-new/);
    assert.match(c[2]!.why, /redis\.conf\.igbackup-orig/);
    assert.match(c[4]!.why, /an earlier restore was cut short/);
    const plain = redis.restorePathChecks({ dir: '/d', rdbPath: '/d/x.rdb', start: ['redis-server'] });
    assert.deepEqual(
      plain.map((x) => x.kind),
      ['dir-writable', 'file-replaceable', 'runnable'],
    );
  });

  it('redis: the default stop is SHUTDOWN SAVE (the state at the stop is saved), password never in argv', () => {
    const s = redis.shutdownSaveCommand({ host: 'h', port: 1, password: 'pw' });
    assert.deepEqual(s.argv.slice(-2), ['SHUTDOWN', 'SAVE']);
    assert.ok(!s.argv.includes('pw'));
  });

  it('neo4j: service commands on a VM, neo4j-admin, the Enterprise work directory', () => {
    const service = {
      stop: ['systemctl', 'stop', 'neo4j'],
      start: ['/usr/bin/neo4j', 'start'],
      status: ['neo4j', 'status'],
    };
    assert.deepEqual(
      neo4j.restorePathChecks({ admin: 'neo4j-admin', service, workDir: '/tmp/w' }).map((x) => [x.kind, x.path]),
      [
        ['runnable', 'systemctl'],
        ['runnable', '/usr/bin/neo4j'],
        ['runnable', 'neo4j'],
        ['runnable', 'neo4j-admin'],
        ['dir-creatable', '/tmp/w'],
      ],
    );
    assert.deepEqual(
      neo4j.restorePathChecks({ admin: '/opt/neo4j/bin/neo4j-admin' }).map((x) => x.path),
      ['/opt/neo4j/bin/neo4j-admin'],
    );
  });
});
