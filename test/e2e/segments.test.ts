// Artifacts stored in segments (storage.segmentMiB set small), end to end against the real PostgreSQL on both real
// stores: the manifest lists them; list, verify, restore, prune and the catalog handle them; a lost segment makes the
// backup incomplete (exit 3), never a restore of part of it.

import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { parseJson, pgSection, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { dropDatabase, fingerprint, makeBucket, makeDatabase, s3Client, uniqueName } from '../helpers/servers.js';

interface Segment {
  key: string;
  bytes: number;
}
interface ManifestJson {
  artifacts: { key: string; bytes: number; segments?: Segment[] }[];
}

interface StoreCase {
  name: string;
  storage: (dir: string) => Promise<Record<string, unknown>>;
  manifest: (key: string) => Promise<ManifestJson>;
  keys: (prefix: string) => Promise<string[]>;
  remove: (key: string) => Promise<void>;
}

function cases(): StoreCase[] {
  let bucket = '';
  let root = '';
  return [
    {
      name: 's3',
      storage: async () => s3Storage((bucket = await makeBucket()), { segmentMiB: 1 }),
      manifest: async (key) => {
        const o = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: `${key}.manifest.json` }));
        return JSON.parse(await o.Body!.transformToString()) as ManifestJson;
      },
      keys: async (prefix) =>
        ((await s3Client().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents ?? []).map(
          (o) => o.Key as string,
        ),
      remove: async (key) => void (await s3Client().send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))),
    },
    {
      name: 'file',
      storage: async (dir) => ({ type: 'file', path: (root = join(dir, 'store')), segmentMiB: 1 }),
      manifest: async (key) =>
        JSON.parse(
          await import('node:fs/promises').then((f) => f.readFile(join(root, `${key}.manifest.json`), 'utf8')),
        ) as ManifestJson,
      keys: async (prefix) =>
        (await readdir(join(root, prefix))).map((f) => `${prefix}${f}`).filter((k) => !k.includes('.igbackup')),
      remove: async (key) => rm(join(root, key)),
    },
  ];
}

describe('artifacts stored in segments', () => {
  for (const c of cases()) {
    it(`postgres on ${c.name}: backup in segments, list, verify, restore identical; prune removes every segment; a lost segment is exit 3`, async () => {
      const dir = await tempDir();
      const db = await makeDatabase(uniqueName('igb_seg'), 30_000);
      const copy = uniqueName('igb_seg_copy');
      await writeConfig(dir, {
        envs: {
          ci: {
            storage: await c.storage(dir),
            retention: { keepLast: 1, keepDays: 0, orphanGraceHours: 0 },
            postgres: pgSection([db]),
          },
        },
      });
      try {
        const keys: string[] = [];
        for (let i = 0; i < 2; i++) {
          const b = await runCli(['--json', 'backup', 'postgres', '--env', 'ci'], { cwd: dir });
          assert.equal(b.code, 0, b.stderr);
          keys.push(parseJson<{ results: { key: string }[] }>(b).results[0]!.key);
        }
        const [older, newer] = keys as [string, string];
        const m = await c.manifest(newer);
        const segs = m.artifacts[0]!.segments ?? [];
        assert.ok(segs.length >= 2, `${m.artifacts[0]!.bytes} bytes in ${segs.length} segments`);
        assert.ok(segs.every((s, i) => s.bytes === 1024 * 1024 || i === segs.length - 1));
        assert.equal(
          segs.reduce((n, s) => n + s.bytes, 0),
          m.artifacts[0]!.bytes,
        );

        const list = await runCli(['--json', 'list', 'postgres', '--env', 'ci'], { cwd: dir });
        assert.equal(list.code, 0, list.stderr);
        const listed = parseJson<{ backups: { key: string; bytes: number }[]; orphans: unknown[] }>(list);
        assert.deepEqual(listed.backups.map((b) => b.key).sort(), [...keys].sort());
        assert.equal(listed.backups.find((b) => b.key === newer)?.bytes, m.artifacts[0]!.bytes);
        assert.deepEqual(listed.orphans, [], 'segments are not orphans');

        const v = await runCli(['verify', 'postgres', '--env', 'ci', '--from', newer], { cwd: dir });
        assert.equal(v.code, 0, v.stderr);
        assert.match(v.stdout + v.stderr, new RegExp(`in ${segs.length} segments, size and sha256`));

        const r = await runCli(['restore', 'postgres', '--env', 'ci', '--from', newer, '--target-db', copy], {
          cwd: dir,
        });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(await fingerprint(copy), await fingerprint(db));

        // Retention keeps the newest: every segment of the older backup goes, the newer one's all stay.
        const p = await runCli(['--json', 'prune', 'postgres', '--env', 'ci', '--yes'], { cwd: dir });
        assert.equal(p.code, 0, p.stderr);
        const folder = newer.slice(0, newer.lastIndexOf('/') + 1);
        const left = await c.keys(folder);
        assert.deepEqual(
          left.filter((k) => k.startsWith(older)),
          [],
        );
        for (const s of segs) assert.ok(left.includes(s.key), `${s.key} kept`);

        // A lost segment: not a complete backup any more, and nothing is restored from the rest.
        await c.remove(segs[1]!.key);
        const gone = await runCli(['restore', 'postgres', '--env', 'ci', '--from', newer, '--target-db', copy], {
          cwd: dir,
        });
        assert.equal(gone.code, 3, gone.stderr);
        assert.match(gone.stderr, /seg-0002 is missing from the store/);
        const after = await runCli(['--json', 'list', 'postgres', '--env', 'ci'], { cwd: dir });
        const judged = parseJson<{ backups: unknown[]; suspects: { reasons: string[] }[] }>(after);
        assert.deepEqual(judged.backups, []);
        assert.match(judged.suspects.map((x) => x.reasons.join('; ')).join('\n'), /seg-0002 is missing from the store/);
      } finally {
        await dropDatabase(db);
        await dropDatabase(copy);
      }
    });
  }
});
