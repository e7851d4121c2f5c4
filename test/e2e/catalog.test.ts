// A backup is what the store proves: on both stores, real backups beside manifests that lie (other env, other
// database, ".." paths, future dates, missing and short artifacts, unparsable and future-schema manifests) and young
// and old orphans. list/status/verify --latest/restore --from/prune must trust only proven-complete backups.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, it } from 'node:test';
import { parseJson, pgSection, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { ageBackup, rawFile, rawS3, readManifest, type RawStore } from '../helpers/crafted.js';
import { makeBucket, makeDatabase, uniqueName } from '../helpers/servers.js';

interface ListJson {
  backups: { key: string; database: string }[];
  suspects: { manifestKey: string; reasons: string[] }[];
  orphans: { key: string }[];
}
interface PruneJson {
  kept: { key: string; why: string }[];
  removed: { key: string; objects: string[]; why: string }[];
  suspectsRemoved: { key: string }[];
  suspectsKept: { key: string }[];
  orphansRemoved: { key: string }[];
  orphansKept: { key: string }[];
}

const ts = (d: Date): string => d.toISOString().replace(/[-:]/g, '');

async function backup(dir: string, env: string, db: string): Promise<string> {
  const r = await runCli(['--json', 'backup', 'postgres', '--env', env, '--database', db], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  return parseJson<{ results: { key: string }[] }>(r).results[0]!.key;
}

/** Plants lying manifests beside the real backups; returns manifest key → the reason text expected for it. */
async function plant(
  raw: RawStore,
  a: string,
  b: string,
  realA: string,
  realB: string,
  other: string,
): Promise<Map<string, RegExp>> {
  const template = await readManifest(raw, realA);
  const planted = new Map<string, RegExp>();
  const put = async (
    name: string,
    when: Date,
    patch: (m: typeof template) => void,
    why: RegExp,
    text?: string,
  ): Promise<void> => {
    const m = structuredClone(template);
    const key = `prod/postgres/${name}_${ts(when)}.dump.zst`;
    m.startedAt = when.toISOString();
    m.finishedAt = when.toISOString();
    m.artifacts = [{ ...template.artifacts[0]!, key }];
    patch(m);
    await raw.put(`${key}.manifest.json`, text ?? JSON.stringify(m));
    planted.set(`${key}.manifest.json`, why);
  };
  const now = Date.now();
  const otherEnvKey = other;
  await put(a, new Date(now - 60_000), (m) => (m.artifacts[0]!.key = otherEnvKey), /lies outside prod\/postgres\//);
  await put(a, new Date('2099-01-01T00:00:00Z'), () => undefined, /later than the manifest object|in the future/);
  await put(b, new Date(now + 3_600_000), () => undefined, /later than the manifest object|in the future/);
  await put(
    a,
    new Date(now - 120_000),
    (m) => m.artifacts.push({ ...template.artifacts[0]!, role: 'globals', key: realB }),
    /does not belong/,
  );
  await put(
    a,
    new Date(now - 180_000),
    (m) =>
      m.artifacts.push({
        ...template.artifacts[0]!,
        role: 'globals',
        key: `prod/postgres/../prod2/postgres/x.dump.zst`,
      }),
    /"\.\." segments/,
  );
  await put(a, new Date(now - 240_000), (m) => (m.env = 'prod2'), /names env "prod2"/);
  await put(b, new Date(now - 300_000), (m) => ((m.target as { database: string }).database = a), /names database/);
  await put(a, new Date(now - 360_000), () => undefined, /does not parse/, '{ "schema": "igbackup.manifest/v1", ');
  await put(a, new Date(now - 420_000), (m) => (m.schema = 'igbackup.manifest/v2'), /does not parse/);
  return planted;
}

async function scenario(kind: 's3' | 'file'): Promise<void> {
  const dir = await tempDir();
  const a = await makeDatabase(uniqueName('igb_cat_a'), 30);
  const b = await makeDatabase(uniqueName('igb_cat_b'), 30);
  const bucket = kind === 's3' ? await makeBucket() : '';
  const storage = kind === 's3' ? s3Storage(bucket) : { type: 'file', path: join(dir, 'store') };
  const raw = kind === 's3' ? rawS3(bucket) : rawFile(join(dir, 'store'));
  const config = (graceHours: number): Promise<string> =>
    writeConfig(dir, {
      tiers: { gold: { rpoMinutes: 60, rtoMinutes: 60 } },
      envs: {
        prod: {
          tier: 'gold',
          retention: { keepLast: 1, keepDays: 0, orphanGraceHours: graceHours },
          storage,
          postgres: pgSection([a, b]),
        },
        prod2: { storage, postgres: pgSection([a]) },
      },
    });
  await config(24);
  const old1 = await ageBackup(raw, await backup(dir, 'prod', a), 3);
  const old2 = await ageBackup(raw, await backup(dir, 'prod', a), 2);
  const realA = await backup(dir, 'prod', a);
  const realB = await backup(dir, 'prod', b);
  const other = await backup(dir, 'prod2', a);
  // A real backup whose artifact vanished, and one cut short.
  const missing = await ageBackup(raw, await backup(dir, 'prod', b), 1);
  await raw.remove(missing);
  const short = await ageBackup(raw, await backup(dir, 'prod', b), 1.5);
  await raw.put(short, (await raw.get(short)).subarray(0, 100));
  const planted = await plant(raw, a, b, realA, realB, other);
  planted.set(`${missing}.manifest.json`, /missing from the store/);
  planted.set(`${short}.manifest.json`, /has 100 bytes in the store/);
  await raw.put(`prod/postgres/${a}_20250101T000000.000Z.dump.zst`, 'left by a failed run');

  const l = parseJson<ListJson>(await runCli(['--json', 'list', 'postgres', '--env', 'prod'], { cwd: dir }));
  assert.deepEqual(l.backups.map((x) => x.key).sort(), [old1, old2, realA, realB].sort());
  assert.deepEqual(l.suspects.map((s) => s.manifestKey).sort(), [...planted.keys()].sort());
  for (const s of l.suspects) assert.match(s.reasons.join('\n'), planted.get(s.manifestKey)!, s.manifestKey);
  const text = await runCli(['list', 'postgres', '--env', 'prod'], { cwd: dir });
  assert.match(text.stderr + text.stdout, new RegExp(`${planted.size} suspect manifest`));

  // status: the RPO counts only proven backups (the 2099 and future ones do not make it look fresh).
  const st = parseJson<{ rows: { database: string; lastKey: string }[] }>(
    await runCli(['--json', 'status', '--env', 'prod'], { cwd: dir }),
  );
  assert.deepEqual(
    st.rows.map((r) => [r.database, r.lastKey]).sort(),
    [
      [a, realA],
      [b, realB],
    ].sort(),
  );

  // verify --latest picks the newest proven backup; --from a suspect one is refused at once (exit 3), no hang.
  const v = await runCli(['--json', 'verify', 'postgres', '--env', 'prod', '--latest', '--database', a], { cwd: dir });
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, new RegExp(realA.replace(/[.]/g, '\\.')));
  const bad = await runCli(
    ['restore', 'postgres', '--env', 'prod', '--from', missing, '--yes', '--target-db', uniqueName('igb_never')],
    { cwd: dir },
  );
  assert.equal(bad.code, 3, bad.stderr);
  assert.match(bad.stderr, /not a complete backup[\s\S]*missing from the store/);

  // prune within the grace period: only the old proven backups of a go; every suspect and orphan stays.
  const p1 = parseJson<PruneJson>(
    await runCli(['--json', 'prune', 'postgres', '--env', 'prod', '--yes'], { cwd: dir }),
  );
  assert.deepEqual(p1.removed.map((r) => r.key).sort(), [old1, old2].sort());
  assert.deepEqual(
    p1.kept.map((k) => [k.key, k.why]).sort(),
    [
      [realA, 'newest complete backup'],
      [realB, 'newest complete backup'],
    ].sort(),
  );
  assert.equal(p1.suspectsRemoved.length + p1.orphansRemoved.length, 0);
  assert.equal(p1.suspectsKept.length, planted.size);
  for (const r of p1.removed) assert.match(r.why, /older than 0 days/);

  // After the grace period: suspects and orphans go; the other env's object, and every proven backup, stay.
  await config(0);
  const p2 = parseJson<PruneJson>(
    await runCli(['--json', 'prune', 'postgres', '--env', 'prod', '--yes'], { cwd: dir }),
  );
  assert.equal(p2.suspectsRemoved.length, planted.size);
  assert.ok(p2.orphansRemoved.some((o) => o.key === short));
  const left = await raw.keys('prod');
  assert.deepEqual(
    left.filter((k) => k.startsWith('prod/postgres/')).sort(),
    [realA, `${realA}.manifest.json`, realB, `${realB}.manifest.json`].sort(),
  );
  assert.ok(left.includes(other) && left.includes(`${other}.manifest.json`), 'an object of env prod2 was deleted');
  for (const k of [realA, realB]) {
    const ok = await runCli(['verify', 'postgres', '--env', 'prod', '--from', k], { cwd: dir });
    assert.equal(ok.code, 0, ok.stderr);
  }
}

describe('catalog: only what the store proves', () => {
  it('S3 (radosgw): lying manifests, missing and short artifacts, orphans', () => scenario('s3'));
  it('file store: the same crafted state', () => scenario('file'));
});

describe('catalog: replaced objects, nested envs, drill reports, locks and names that lie', () => {
  it('a same-size replaced artifact never stands in for older backups; --latest prefers an intact one', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const raw = rawS3(bucket);
    const a = await makeDatabase(uniqueName('igb_cat_r'), 30);
    await writeConfig(dir, {
      envs: {
        prod: {
          retention: { keepLast: 1, keepDays: 0, orphanGraceHours: 24 },
          storage: s3Storage(bucket),
          postgres: pgSection([a]),
        },
      },
    });
    const old1 = await ageBackup(raw, await backup(dir, 'prod', a), 3);
    const old2 = await ageBackup(raw, await backup(dir, 'prod', a), 2);
    const newest = await backup(dir, 'prod', a);
    // Someone with write access replaces the newest dump with other bytes of the same size.
    await raw.put(newest, randomBytes((await raw.get(newest)).length));
    const p = parseJson<PruneJson>(
      await runCli(['--json', 'prune', 'postgres', '--env', 'prod', '--yes'], { cwd: dir }),
    );
    assert.deepEqual(
      p.removed.map((r) => r.key),
      [old1],
    );
    assert.deepEqual(
      p.kept.map((k) => k.key),
      [newest, old2],
    );
    assert.match(p.kept[1]!.why, /kept until an intact one is newer/);
    const v = await runCli(['--json', 'verify', 'postgres', '--env', 'prod', '--latest'], { cwd: dir });
    assert.equal(v.code, 0, v.stderr);
    assert.match(v.stdout, new RegExp(old2.replace(/[.]/g, '\\.')));
  });

  it('envs whose folders nest are refused; a nested folder from another config is never pruned', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const a = await makeDatabase(uniqueName('igb_cat_n'), 30);
    const both = await runCli(['list', '--env', 'team'], {
      cwd: dir,
      env: {
        IGBACKUP_CONFIG: await writeConfig(dir, {
          envs: {
            team: { storage: s3Storage(bucket), postgres: pgSection([a]) },
            postgres: { storage: s3Storage(bucket, { prefix: 'team' }), postgres: pgSection([a]) },
          },
        }),
      },
    });
    assert.equal(both.code, 2);
    assert.match(
      both.stderr,
      /envs\.postgres: its objects \(team\/postgres\/\) lie inside env team's folder \(team\/\)/,
    );
    const inner = join(dir, 'inner');
    const outer = join(dir, 'outer');
    await mkdir(inner);
    await mkdir(outer);
    await writeConfig(inner, {
      envs: { postgres: { storage: s3Storage(bucket, { prefix: 'team' }), postgres: pgSection([a]) } },
    });
    await writeConfig(outer, {
      envs: {
        team: {
          retention: { keepLast: 1, keepDays: 0, orphanGraceHours: 0 },
          storage: s3Storage(bucket),
          postgres: pgSection([a]),
        },
      },
    });
    const key = await backup(inner, 'postgres', a);
    await backup(outer, 'team', a);
    const p = parseJson<PruneJson>(await runCli(['--json', 'prune', '--env', 'team', '--yes'], { cwd: outer }));
    assert.equal(p.orphansRemoved.length + p.suspectsRemoved.length + p.removed.length, 0, JSON.stringify(p));
    const l = parseJson<ListJson>(await runCli(['--json', 'list', '--env', 'postgres'], { cwd: inner }));
    assert.deepEqual(
      l.backups.map((b) => b.key),
      [key],
    );
  });

  it("status judges a drill report against today's RTO target; --force-unlock refuses a live holder; stored names cannot drive the terminal", async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const raw = rawS3(bucket);
    const a = await makeDatabase(uniqueName('igb_cat_s'), 30);
    await writeConfig(dir, {
      tiers: { gold: { rpoMinutes: 60, rtoMinutes: 60 } },
      envs: {
        prod: {
          tier: 'gold',
          retention: { keepLast: 1, keepDays: 0, orphanGraceHours: 0 },
          storage: s3Storage(bucket),
          postgres: pgSection([a]),
        },
      },
    });
    const key = await backup(dir, 'prod', a);
    const at = new Date().toISOString();
    await raw.put(
      `prod/.igbackup/drills/postgres/${a}_${ts(new Date())}.json`,
      JSON.stringify({ database: a, key, finishedAt: at, ok: true, rtoMet: true, rtoSeconds: 99_999_999 }),
    );
    const st = await runCli(['--json', 'status', '--env', 'prod'], { cwd: dir });
    assert.equal(st.code, 6, st.stderr);
    assert.match(st.stdout, /the last drill failed/);

    const sleeper = execa('sleep', ['60']);
    const lockKey = 'prod/.igbackup/locks/postgres.json';
    await raw.put(
      lockKey,
      JSON.stringify({
        id: 'x',
        env: 'prod',
        engine: 'postgres',
        holder: 'cron@here',
        host: hostname(),
        pid: sleeper.pid,
        acquiredAt: at,
        expiresAt: new Date(Date.now() + 600_000).toISOString(),
      }),
    );
    const forced = await runCli(['backup', 'postgres', '--env', 'prod', '--force-unlock'], { cwd: dir });
    assert.equal(forced.code, 7, forced.stderr);
    assert.match(forced.stderr, new RegExp(`--force-unlock refused: .* is alive \\(pid ${sleeper.pid} on this host`));
    sleeper.kill();
    await sleeper.catch(() => undefined);
    await raw.remove(lockKey);

    await raw.put(`prod/postgres/x\u001b[2J\u001b]0;pwned\u0007.dump`, 'left over');
    const plan = await runCli(['prune', '--env', 'prod'], { cwd: dir });
    assert.equal(plan.code, 0, plan.stderr);
    // The escape character itself must not be printed (searched as strings: a regex with it trips no-control-regex).
    const printed = plan.stdout + plan.stderr;
    assert.ok(
      !printed.includes('\u001b[2J') && !printed.includes('\u001b]0;'),
      'a stored name wrote terminal control sequences',
    );
    assert.match(plan.stdout, /x\\u001b\[2J\\u001b\]0;pwned\\u0007\.dump/);
  });
});
