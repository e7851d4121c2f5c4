// Neo4j Enterprise backup chains with the stand-in neo4j-admin (the documented 5.x argv: database backup --type,
// database restore --from-path=DIR --restore-until) and the real S3: full, differential and auto backups kept as a
// chain in the store, restores of the chain (to the end, to a time, to a transaction id), verify of a differential
// backup, a broken chain never restored, retention that never breaks a chain, Community refusing --type.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DeleteObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3';
import { parseJson, runCli, s3Storage, writeConfig } from '../helpers/cli.js';
import { makeBucket, s3Client } from '../helpers/servers.js';
import { neo4jHome, STANDIN_SERVICE } from '../helpers/neo4j.js';

const service = STANDIN_SERVICE;

interface Tools {
  backupType?: string;
  parent?: string;
  neo4jArtifact?: string;
}

/** The second a stand-in artifact was taken, from its name (`neo4j-2026-11-27T10-15-00.<ns>.backup`). */
function artifactSecond(name: string): number {
  const m = /-(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})\./.exec(name);
  assert.ok(m, name);
  return Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}Z`) / 1000;
}

describe('neo4j enterprise backup chains (stand-in neo4j-admin)', () => {
  it('full, diff and auto backups form a chain; restores of it to the end, a time and a transaction; verify; retention keeps it whole', async () => {
    const n = await neo4jHome();
    const bucket = await makeBucket();
    const workDir = join(n.dir, 'work');
    await writeConfig(n.dir, {
      envs: {
        vm: {
          storage: s3Storage(bucket),
          retention: { keepLast: 1, keepDays: 0, orphanGraceHours: 0 },
          neo4j: { edition: 'enterprise', service, enterprise: { workDir } },
        },
      },
    });
    const cli = (...args: string[]) => runCli(args, { cwd: n.dir, env: n.env() });
    const manifest = async (key: string): Promise<Tools> => {
      const o = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: `${key}.manifest.json` }));
      return (JSON.parse(await o.Body!.transformToString()) as { tools: Tools }).tools;
    };

    const none = await cli('backup', 'neo4j', '--env', 'vm', '--type', 'diff');
    assert.equal(none.code, 1, none.stderr);
    assert.match(none.stderr, /no chain to take a differential backup on: the store has no complete Enterprise backup/);
    assert.match(none.stderr, /--type full \(or --type auto\)/);

    const keys: string[] = [];
    const contents: Buffer[] = [];
    for (const type of ['full', 'diff', 'auto']) {
      await writeFile(n.store, randomBytes(50_000));
      contents.push(await readFile(n.store));
      const b = await cli('--json', 'backup', 'neo4j', '--env', 'vm', '--type', type);
      assert.equal(b.code, 0, b.stderr);
      keys.push(parseJson<{ results: { key: string }[] }>(b).results[0]!.key);
      await new Promise((r) => setTimeout(r, 2100)); // the stand-in names artifacts by the second
    }
    const tools = await Promise.all(keys.map(manifest));
    assert.deepEqual(
      tools.map((t) => [t.backupType, t.parent]),
      [
        ['full', undefined],
        ['diff', keys[0]],
        ['diff', keys[1]],
      ],
    );
    const calls = await n.calls();
    assert.deepEqual(
      calls.filter((c) => c.startsWith('neo4j-admin database backup')).map((c) => /--type=(\w+)/.exec(c)?.[1]),
      ['FULL', 'DIFF', 'DIFF'],
    );

    const list = await cli('--json', 'list', 'neo4j', '--env', 'vm');
    const listed = parseJson<{ backups: { key: string; backupType?: string; parent?: string }[] }>(list).backups;
    assert.deepEqual(
      listed.map((b) => [b.key, b.backupType, b.parent]),
      [
        [keys[2], 'diff', keys[1]],
        [keys[1], 'diff', keys[0]],
        [keys[0], 'full', undefined],
      ],
    );
    assert.match((await cli('list', 'neo4j', '--env', 'vm')).stdout, /\(diff on neo4j_\d{8}T/);

    // The newest: its whole chain restored (a directory of three artifacts), the data of the third backup.
    await writeFile(n.store, 'changed');
    const latest = await cli('--json', 'restore', 'neo4j', '--env', 'vm', '--latest');
    assert.equal(latest.code, 0, latest.stderr);
    assert.deepEqual(parseJson<{ result: { chain: string[] } }>(latest).result.chain, keys);
    assert.deepEqual(await readFile(n.store), contents[2]);
    assert.ok(await n.running());

    // To a moment between the second and the third backup: the second's data.
    const second = artifactSecond(tools[1]!.neo4jArtifact!);
    const at = new Date((second + 1) * 1000).toISOString();
    const toTime = await cli('--json', 'restore', 'neo4j', '--env', 'vm', '--to', at);
    assert.equal(toTime.code, 0, toTime.stderr);
    assert.deepEqual(await readFile(n.store), contents[1]);
    const until = at.slice(0, 19).replace('T', ' ');
    assert.equal(parseJson<{ result: { until: string } }>(toTime).result.until, until);
    assert.ok((await n.calls()).some((c) => c.includes(`--restore-until=${until}`)));

    // To a transaction id (the stand-in's: the second it took the artifact): the first backup's data.
    const tx = String(artifactSecond(tools[0]!.neo4jArtifact!));
    const toTx = await cli('restore', 'neo4j', '--env', 'vm', '--from', keys[2]!, '--to', tx);
    assert.equal(toTx.code, 0, toTx.stderr);
    assert.deepEqual(await readFile(n.store), contents[0]);

    // Bad --to: neither a time with a zone nor a transaction id; in the future; before every backup ends.
    await n.clearCalls();
    const beforeAll = new Date(artifactSecond(tools[0]!.neo4jArtifact!) * 1000 - 60_000).toISOString();
    for (const [to, why] of [
      ['yesterday', /neither a time with a zone nor a transaction id/],
      ['2099-01-01T00:00:00Z', /is in the future/],
      [beforeAll, /no complete Enterprise backup chain of "neo4j" holds .*full backups ended at/s],
    ] as const) {
      const bad = await cli('restore', 'neo4j', '--env', 'vm', '--to', to);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, why);
    }
    assert.deepEqual(await n.calls(), [], 'refused before anything was stopped');

    // verify of a differential backup restores its chain in a throwaway DBMS.
    const v = await cli('verify', 'neo4j', '--env', 'vm', '--latest');
    assert.equal(v.code, 0, v.stderr);

    // Retention: keepLast 1 keeps the newest, and with it its whole chain.
    const plan = await cli('--json', 'prune', 'neo4j', '--env', 'vm');
    const p = parseJson<{ kept: { key: string; why: string }[]; removed: unknown[] }>(plan);
    assert.deepEqual(p.removed, []);
    assert.match(p.kept.find((k) => k.key === keys[0])!.why, /part of the backup chain of/);

    // A new full backup starts a new chain; the old one may go then, as a whole.
    const full = await cli('--json', 'backup', 'neo4j', '--env', 'vm', '--type', 'full');
    assert.equal(full.code, 0, full.stderr);
    const pruned = await cli('--json', 'prune', 'neo4j', '--env', 'vm', '--yes');
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.deepEqual(
      parseJson<{ removed: { key: string }[] }>(pruned)
        .removed.map((r) => r.key)
        .sort(),
      [...keys].sort(),
    );
  });

  it('a broken chain is never restored; a chain missing on the host makes diff fail and auto take a full backup', async () => {
    const n = await neo4jHome();
    const bucket = await makeBucket();
    const workDir = join(n.dir, 'work');
    await writeConfig(n.dir, {
      envs: { vm: { storage: s3Storage(bucket), neo4j: { edition: 'enterprise', service, enterprise: { workDir } } } },
    });
    const cli = (...args: string[]) => runCli(args, { cwd: n.dir, env: n.env() });
    const keys: string[] = [];
    for (const type of ['full', 'diff', 'diff']) {
      const b = await cli('--json', 'backup', 'neo4j', '--env', 'vm', '--type', type);
      assert.equal(b.code, 0, b.stderr);
      keys.push(parseJson<{ results: { key: string }[] }>(b).results[0]!.key);
      await new Promise((r) => setTimeout(r, 1100));
    }
    // The middle link loses its artifact: it and the one on it are suspects, the full one stays.
    await s3Client().send(new DeleteObjectCommand({ Bucket: bucket, Key: keys[1] }));
    const list = await cli('--json', 'list', 'neo4j', '--env', 'vm');
    const l = parseJson<{ backups: { key: string }[]; suspects: { manifestKey: string; reasons: string[] }[] }>(list);
    assert.deepEqual(
      l.backups.map((b) => b.key),
      [keys[0]],
    );
    const newest = l.suspects.find((s) => s.manifestKey === `${keys[2]}.manifest.json`);
    assert.match(
      newest?.reasons.join() ?? '',
      /differential backup whose chain is broken: its parent .* is not a complete backup/,
    );
    const r = await cli('restore', 'neo4j', '--env', 'vm', '--from', keys[2]!);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /the backup chain of .* is broken/);

    // The chain on the host is gone (a new VM, a cleaned disk): diff refuses, auto starts a new chain.
    await rm(workDir, { recursive: true, force: true });
    const diff = await cli('backup', 'neo4j', '--env', 'vm', '--type', 'diff');
    assert.equal(diff.code, 1, diff.stderr);
    assert.match(diff.stderr, /the chain on the Neo4j host ends with nothing, the store's with neo4j-/);
    const auto = await cli('--json', 'backup', 'neo4j', '--env', 'vm', '--type', 'auto');
    assert.equal(auto.code, 0, auto.stderr);
    const newKey = parseJson<{ results: { key: string }[] }>(auto).results[0]!.key;
    const after = parseJson<{ backups: { key: string; backupType?: string }[] }>(
      await cli('--json', 'list', 'neo4j', '--env', 'vm'),
    ).backups;
    assert.equal(after.find((b) => b.key === newKey)?.backupType, 'full');

    // Community has no differential backups: refused before anything runs.
    await writeConfig(n.dir, { envs: { vm: { storage: s3Storage(bucket), neo4j: { service } } } });
    const community = await cli('backup', 'neo4j', '--env', 'vm', '--type', 'diff');
    assert.equal(community.code, 2, community.stderr);
    assert.match(community.stderr, /--type diff needs Neo4j Enterprise/);
  });
});
