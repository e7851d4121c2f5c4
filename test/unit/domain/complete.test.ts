// The one definition of a complete backup (domain/complete.ts), rule by rule, and prune's fail-safe rail for backups
// whose objects were replaced (domain/retention.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backupStem, brokenChains, judgeManifest, type Link, type Listed } from '../../../src/domain/complete.js';
import { keepChains, selectRetention } from '../../../src/domain/retention.js';

const P = 'pre/prod/postgres/';
const now = new Date('2026-11-27T12:00:00.000Z');
const started = '2026-11-27T11:00:00.000Z';
const key = `${P}app_20261127T110000.000Z.dump.zst`;
const sha = 'a'.repeat(64);

function manifest(patch: (m: Record<string, any>) => void = () => undefined): string {
  const m: Record<string, any> = {
    schema: 'igbackup.manifest/v1',
    igbackupVersion: '0.1.0',
    engine: 'postgres',
    env: 'prod',
    target: { database: 'app', transport: 'local' },
    format: 'pg_dump-custom',
    compression: 'zstd',
    artifacts: [{ role: 'dump', key, bytes: 100, sha256: sha, rawBytes: 200, rawSha256: sha, etag: '"e1"' }],
    tools: {},
    startedAt: started,
    finishedAt: '2026-11-27T11:00:05.000Z',
    durationMs: 5000,
    sourceHost: 'h',
    createdBy: 'u@h',
    encryption: { sse: 'aws:kms' },
  };
  patch(m);
  return JSON.stringify(m);
}

const self: Listed = { bytes: 900, lastModified: new Date('2026-11-27T11:00:06.000Z') };
const listing = (extra: [string, Listed][] = []): Map<string, Listed> =>
  new Map<string, Listed>([
    [key, { bytes: 100, lastModified: new Date('2026-11-27T11:00:05.000Z'), etag: '"e1"' }],
    ...extra,
  ]);
const x = { enginePrefix: P, env: 'prod', engine: 'postgres', now };
const judge = (text: string, l = listing(), s = self) => judgeManifest(`${key}.manifest.json`, text, s, l, x);
const reasons = (text: string, l = listing(), s = self): string => {
  const j = judge(text, l, s);
  assert.equal(j.complete, false, 'judged complete');
  return j.complete ? '' : j.reasons.join('\n');
};

describe('a complete backup', () => {
  it('is proven by a manifest that agrees with its key and a listing that holds its artifacts', () => {
    const j = judge(manifest());
    assert.ok(j.complete);
    assert.equal(j.complete && j.intact, true);
    assert.deepEqual(backupStem(key, P), {
      name: 'app',
      timestamp: '20261127T110000.000Z',
      stem: 'app_20261127T110000.000Z',
    });
    assert.equal(backupStem(`${P}sub/app_20261127T110000.000Z.dump`, P), undefined);
  });

  it('is suspect when the manifest does not parse or has a schema from the future', () => {
    assert.match(reasons('{"schema": '), /does not parse: not JSON/);
    assert.match(reasons(manifest((m) => (m.schema = 'igbackup.manifest/v2'))), /does not parse: schema/);
  });

  it('is suspect when env, engine, database or timestamp disagree with the key', () => {
    assert.match(reasons(manifest((m) => (m.env = 'prod2'))), /names env "prod2"/);
    assert.match(reasons(manifest((m) => (m.engine = 'redis'))), /names engine "redis"/);
    assert.match(
      reasons(manifest((m) => (m.target.database = 'other'))),
      /names database "other", its key names "app"/,
    );
    assert.match(
      reasons(manifest((m) => (m.startedAt = '2026-11-27T10:00:00.000Z'))),
      /disagrees with the key's timestamp/,
    );
  });

  it('is suspect when an artifact lies outside the folder, in another backup, or behind .. segments', () => {
    const other = 'pre/prod2/postgres/app_20261127T110000.000Z.dump.zst';
    assert.match(reasons(manifest((m) => (m.artifacts[0].key = other))), /lies outside pre\/prod\/postgres\//);
    const sibling = `${P}app_20261127T100000.000Z.dump.zst`;
    assert.match(
      reasons(manifest((m) => m.artifacts.push({ ...m.artifacts[0], role: 'globals', key: sibling }))),
      /does not belong to this backup/,
    );
    const dots = `${P}../../prod2/postgres/app_20261127T110000.000Z.globals.sql`;
    assert.match(
      reasons(manifest((m) => m.artifacts.push({ ...m.artifacts[0], role: 'globals', key: dots }))),
      /"\." or "\.\." segments/,
    );
    assert.match(reasons(manifest((m) => m.artifacts.push({ ...m.artifacts[0] }))), /named twice/);
  });

  it('is suspect when an artifact is missing or has another size in the listing', () => {
    assert.match(reasons(manifest(), new Map()), /missing from the store/);
    assert.match(
      reasons(manifest(), listing([[key, { bytes: 99, lastModified: now }]])),
      /has 99 bytes in the store, the manifest says 100/,
    );
  });

  it('is suspect when it finished after its manifest was written, in the future, or before it started', () => {
    assert.match(
      reasons(manifest((m) => (m.finishedAt = '2026-11-27T11:10:00.000Z'))),
      /later than the manifest object itself was written/,
    );
    const future = { ...self, lastModified: new Date('2099-01-01T00:00:00Z') };
    assert.match(
      reasons(
        manifest((m) => (m.finishedAt = '2098-01-01T00:00:00.000Z')),
        listing(),
        future,
      ),
      /is in the future/,
    );
    assert.match(reasons(manifest((m) => (m.finishedAt = '2026-11-27T10:59:00.000Z'))), /before startedAt/);
    assert.ok(
      judge(manifest((m) => (m.finishedAt = '2026-11-27T11:04:00.000Z'))).complete,
      'within the clock-skew allowance',
    );
  });

  it('is complete but not intact when an artifact has another ETag than the one recorded', () => {
    const j = judge(manifest(), listing([[key, { bytes: 100, lastModified: now, etag: '"e2"' }]]));
    assert.ok(j.complete);
    assert.equal(j.complete && j.intact, false);
  });
});

describe('a backup stored in segments', () => {
  const seg2 = `${key}.seg-0002`;
  const segs = (patch: (s: Record<string, any>[]) => void = () => undefined) =>
    manifest((m) => {
      const s: Record<string, any>[] = [
        { key, bytes: 60, sha256: sha, etag: '"e1"' },
        { key: seg2, bytes: 40, sha256: sha, etag: '"e2"' },
      ];
      patch(s);
      m.artifacts[0].segments = s;
    });
  const both = () =>
    new Map<string, Listed>([
      [key, { bytes: 60, lastModified: self.lastModified, etag: '"e1"' }],
      [seg2, { bytes: 40, lastModified: self.lastModified, etag: '"e2"' }],
    ]);
  it('is complete when every segment is listed at its own key with its size, and they add up', () => {
    const j = judge(segs(), both());
    assert.ok(j.complete, j.complete ? '' : j.reasons.join('; '));
    assert.equal(j.complete && j.intact, true);
  });
  it('a missing or short segment, or one replaced, is named', () => {
    const l = both();
    l.delete(seg2);
    assert.match(reasons(segs(), l), /artifact .*\.seg-0002 is missing from the store/);
    const short = both();
    short.set(seg2, { bytes: 39, lastModified: self.lastModified });
    assert.match(reasons(segs(), short), /\.seg-0002 has 39 bytes in the store, the manifest says 40/);
    const replaced = both();
    replaced.set(seg2, { bytes: 40, lastModified: self.lastModified, etag: '"other"' });
    const j = judge(segs(), replaced);
    assert.equal(j.complete && j.intact, false);
  });
  it('segments that point elsewhere (another backup, out of order) or do not add up are not proof', () => {
    const other = `${P}app_20261126T110000.000Z.dump.zst`;
    assert.match(
      reasons(
        segs((s) => (s[1]!.key = other)),
        both(),
      ),
      /segment 2 of .* is at .*20261126T110000\.000Z\.dump\.zst, not .*\.seg-0002/,
    );
    assert.match(
      reasons(
        segs((s) => (s[1]!.bytes = 41)),
        both(),
      ),
      /the segments of .* add up to 101 bytes, the manifest says 100/,
    );
    assert.match(
      reasons(
        segs((s) => s.splice(1, 1)),
        both(),
      ),
      /manifest does not parse: artifacts\.0\.segments/,
    );
  });
});

describe('prune rail for replaced objects', () => {
  const b = (k: string, daysAgo: number, intact = true) => ({
    key: k,
    engine: 'postgres',
    database: 'app',
    finishedAt: new Date(now.getTime() - daysAgo * 86_400_000).toISOString(),
    intact,
  });
  it('keeps older backups until one whose objects are as written is kept', () => {
    const d = selectRetention(
      [b('new', 0, false), b('mid', 1, false), b('old', 2), b('older', 3)],
      { keepLast: 1, keepDays: 0 },
      now,
    );
    assert.deepEqual(
      d.keep.map((k) => k.item.key),
      ['new', 'mid', 'old'],
    );
    assert.deepEqual(
      d.remove.map((r) => r.item.key),
      ['older'],
    );
    assert.match(d.keep[1]!.why, /kept until an intact one is newer/);
  });
});

describe('backup chains (differential backups)', () => {
  const link = (key: string, at: string, extra: Partial<Link> = {}): Link => ({
    key,
    database: 'neo4j',
    startedAt: `2026-11-27T${at}:00.000Z`,
    artifactName: `${key}.backup`,
    ...extra,
  });
  it('a chain whose links are complete, older and of the same database is whole', () => {
    const full = link('f', '10:00');
    const d1 = link('d1', '10:10', { parent: 'f', backupType: 'diff' });
    const d2 = link('d2', '10:20', { parent: 'd1', backupType: 'diff' });
    assert.deepEqual([...brokenChains([d2, full, d1]).entries()], []);
  });
  it('names every way a chain breaks, and breaks what is built on a broken link', () => {
    const full = link('f', '10:00');
    const broken = brokenChains([
      full,
      link('gone', '10:10', { parent: 'missing', backupType: 'diff' }),
      link('on-gone', '10:20', { parent: 'gone', backupType: 'diff' }),
      link('orphan', '10:30', { backupType: 'diff' }),
      link('other-db', '10:40', { parent: 'f', backupType: 'diff', database: 'other' }),
      link('older', '09:00', { parent: 'f', backupType: 'diff' }),
      link('same-name', '10:50', { parent: 'f', backupType: 'diff', artifactName: 'f.backup' }),
    ]);
    assert.match(broken.get('gone') ?? '', /its parent missing is not a complete backup/);
    assert.match(broken.get('on-gone') ?? '', /the chain of its parent gone is broken/);
    assert.match(broken.get('orphan') ?? '', /it names no parent/);
    assert.match(broken.get('other-db') ?? '', /a backup of "neo4j", not "other"/);
    assert.match(broken.get('older') ?? '', /was not taken before it/);
    assert.match(broken.get('same-name') ?? '', /artifact name f\.backup is already taken in its chain/);
    assert.equal(broken.has('f'), false);
  });
  it('retention keeps every link a kept backup needs', () => {
    const dated = (key: string, daysAgo: number, parent?: string) => ({
      key,
      engine: 'neo4j',
      database: 'neo4j',
      finishedAt: new Date(now.getTime() - daysAgo * 86_400_000).toISOString(),
      parent,
    });
    const d = keepChains(
      selectRetention(
        [dated('f', 9), dated('d1', 8, 'f'), dated('d2', 7, 'd1'), dated('old', 20)],
        { keepLast: 1, keepDays: 0 },
        now,
      ),
    );
    assert.deepEqual(d.keep.map((k) => k.item.key).sort(), ['d1', 'd2', 'f']);
    assert.deepEqual(
      d.remove.map((r) => r.item.key),
      ['old'],
    );
    assert.match(d.keep.find((k) => k.item.key === 'f')!.why, /part of the backup chain of d2/);
  });
});
