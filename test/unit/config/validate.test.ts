// Config validation is pure: every problem comes back with file, line and key path.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { validateConfigText } from '../../../src/config/validate.js';
import { candidatePaths } from '../../../src/config/load.js';
import { ROOT } from '../../helpers/cli.js';

function problems(text: string): string[] {
  const r = validateConfigText(text, 'c.yaml');
  assert.equal(r.ok, false, 'expected a problem');
  return r.ok ? [] : r.problems;
}

describe('config validation', () => {
  it('config.example.yaml is valid and fills defaults', () => {
    const r = validateConfigText(readFileSync(join(ROOT, 'config.example.yaml'), 'utf8'), 'config.example.yaml');
    assert.ok(r.ok, r.ok ? '' : r.problems.join('\n'));
    const prod = r.config.envs.prod;
    assert.equal(prod?.protected, true);
    assert.equal(prod?.storage.type, 's3');
    assert.equal(prod?.postgres?.compression, 'zstd');
  });

  it('reports YAML syntax errors with line and column', () => {
    assert.match(problems('envs:\n  a: [1, 2\n')[0] ?? '', /^c\.yaml:\d+:\d+: YAML syntax error/);
  });

  it('rejects duplicate keys', () => {
    assert.match(
      problems('envs:\n  a:\n    storage: {type: file, path: x}\n  a:\n    storage: {type: file, path: y}\n').join(),
      /YAML syntax error.*unique/i,
    );
  });

  it('names the key path and line of schema problems', () => {
    const p = problems('envs:\n  prod:\n    storage:\n      type: s3\n      bucket: Bad_Bucket\n      kmsKeyId: k\n');
    assert.match(p[0] ?? '', /^c\.yaml:5: envs\.prod\.storage\.bucket: must be a valid S3 bucket name/);
  });

  it('rejects unknown storage types and env names unfit for keys', () => {
    assert.match(problems('envs:\n  prod:\n    storage: {type: ftp}\n').join(), /envs\.prod\.storage\.type/);
    assert.match(
      problems('envs:\n  Prod/1:\n    storage: {type: file, path: x}\n').join(),
      /env name "Prod\/1" must match/,
    );
  });

  it('requires SSE-KMS for s3 and a database list for postgres', () => {
    assert.match(problems('envs:\n  p:\n    storage: {type: s3, bucket: abc}\n').join(), /envs\.p\.storage\.kmsKeyId/);
    assert.match(
      problems('envs:\n  p:\n    storage: {type: file, path: x}\n    postgres: {databases: []}\n').join(),
      /list at least one database/,
    );
  });

  it('a memory budget below what one upload holds is refused with the fix; segmentMiB is a positive size', () => {
    const s3 = (extra: string) => `envs:\n  p:\n    storage: {type: s3, bucket: abc, kmsKeyId: k, ${extra}}\n`;
    assert.match(
      problems(s3('queueSize: 4, minPartSizeMiB: 8, memoryBudgetMiB: 40')).join(),
      /envs\.p\.storage\.memoryBudgetMiB: is smaller than \(queueSize \+ 2\) x minPartSizeMiB.*raise memoryBudgetMiB, or lower queueSize or minPartSizeMiB/,
    );
    assert.ok(validateConfigText(s3('queueSize: 4, minPartSizeMiB: 8, memoryBudgetMiB: 48'), 'c.yaml').ok);
    assert.match(
      problems('envs:\n  p:\n    storage: {type: file, path: x, segmentMiB: 0}\n').join(),
      /envs\.p\.storage\.segmentMiB/,
    );
  });

  it('secret references need exactly one of env/file', () => {
    const p = problems(
      'envs:\n  p:\n    storage: {type: file, path: x}\n    postgres: {databases: [a], password: {env: A, file: /x}}\n',
    );
    assert.match(p.join(), /exactly one of "env"/);
  });

  it('drill settings: kubernetes manifest and pod go together; Neo4j drills need a StatefulSet and its PVC; sizes are checked', () => {
    const env = (drill: string) => `envs:\n  p:\n    storage: {type: file, path: x}\n    drill: ${drill}\n`;
    assert.match(
      problems(env('{kubernetes: {manifest: ./pg.yaml}}')).join(),
      /envs\.p\.drill\.kubernetes: manifest and pod go together/,
    );
    assert.ok(
      validateConfigText(env('{kubernetes: {redis: {manifest: ./r.yaml, pod: r-0}}}'), 'c.yaml').ok,
      'a Redis-only Kubernetes drill is valid',
    );
    assert.match(
      problems(env('{kubernetes: {neo4j: {manifest: ./n.yaml, image: neo4j:5}}}')).join(),
      /envs\.p\.drill\.kubernetes\.neo4j\.(statefulSet|pvc)/,
    );
    assert.match(
      problems(env('{neo4jScratch: {heap: lots}}')).join(),
      /envs\.p\.drill\.neo4jScratch\.heap: a size such as 512m/,
    );
    assert.match(problems(env('{neo4j: [{cypher: "RETURN 1"}]}')).join(), /envs\.p\.drill\.neo4j\.0\.expect/);
  });

  it('an empty file says to define an env', () => {
    assert.match(problems('').join(), /envs/);
  });
});

describe('config discovery', () => {
  it('uses --config, then $IGBACKUP_CONFIG, then ./igbackup.yaml and ~/.config/igbackup/config.yaml', () => {
    const base = { environ: {}, cwd: '/w', home: '/h' };
    assert.deepEqual(candidatePaths({ ...base, explicit: 'x.yaml' }), [{ path: '/w/x.yaml', explicit: true }]);
    assert.deepEqual(candidatePaths({ ...base, environ: { IGBACKUP_CONFIG: '/etc/i.yaml' } }), [
      { path: '/etc/i.yaml', explicit: true },
    ]);
    assert.deepEqual(
      candidatePaths(base).map((c) => c.path),
      ['/w/igbackup.yaml', '/h/.config/igbackup/config.yaml'],
    );
  });
  it('numeric settings: plain decimal notation, documented ranges, parallel restores only where pg_restore reads a file', () => {
    const p = problems(
      'envs:\n  a:\n    retention: { keepLast: 0x10, keepDays: 36501 }\n    storage: { type: file, path: x }\n    postgres: { databases: [d], restoreJobs: 65, zstdLevel: 1e1 }\n',
    );
    assert.ok(
      p.includes(
        'c.yaml:3: envs.a.retention.keepLast: "0x10" is not a plain decimal number; write it with decimal digits only (it reads as 16)',
      ),
      p.join('\n'),
    );
    assert.ok(
      p.includes(
        'c.yaml:5: envs.a.postgres.zstdLevel: "1e1" is not a plain decimal number; write it with decimal digits only (it reads as 10)',
      ),
      p.join('\n'),
    );
    assert.ok(
      p.some((x) => /^c\.yaml:3: envs\.a\.retention\.keepDays: Too big: expected number to be <=36500/.test(x)),
      p.join('\n'),
    );
    assert.ok(
      p.some((x) => /^c\.yaml:5: envs\.a\.postgres\.restoreJobs: /.test(x)),
      p.join('\n'),
    );
    const ssh = problems(
      'envs:\n  a:\n    storage: { type: file, path: x }\n    postgres: { databases: [d], restoreJobs: 2, transport: { type: ssh, host: h, user: u } }\n',
    );
    assert.match(
      ssh.join('\n'),
      /envs\.a\.postgres\.restoreJobs: 2 parallel jobs need pg_restore to read a file on the machine where it runs; over ssh/,
    );
    const fine = validateConfigText(
      'envs:\n  a:\n    tier: t\n    storage: { type: file, path: x }\n    postgres: { databases: [d], restoreJobs: 1, transport: { type: ssh, host: h, user: u } }\ntiers:\n  t: { rpoMinutes: 0.5, rtoMinutes: 30 }\n',
      'c.yaml',
    );
    assert.ok(fine.ok, fine.ok ? '' : fine.problems.join('\n'));
  });
});
