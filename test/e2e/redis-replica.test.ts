// Redis at a 5-minute tier, against real redis-servers (a primary and its replica): backups come from the replica and
// never fork the primary; a replica out of sync fails the backup instead of falling back to the primary; the heartbeat
// written on the primary travels through replication into the backup, and status and drill measure the RPO by it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { parseJson, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { fillRedis, startRedis, type RedisInstance } from '../helpers/redis.js';
import { makeBucket, s3Client } from '../helpers/servers.js';

const forks = async (r: RedisInstance): Promise<number> =>
  Number(/total_forks:(\d+)/.exec(await r.cli('INFO', 'stats'))?.[1] ?? NaN);

async function until(what: string, ms: number, ok: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('Redis backups from a replica, with a heartbeat', () => {
  it('backs up the replica (the primary is never forked), records the heartbeat; status and drill measure the RPO by it', async () => {
    const primary = await startRedis();
    const replica = await startRedis({ extra: [`replicaof 127.0.0.1 ${primary.port}`] });
    try {
      await fillRedis(primary, 200);
      await until('the replica in sync', 30_000, async () =>
        /master_link_status:up/.test(await replica.cli('INFO', 'replication')),
      );
      const dir = await tempDir();
      const bucket = await makeBucket();
      await writeConfig(dir, {
        tiers: { gold: { rpoMinutes: 5, rtoMinutes: 60 } },
        envs: {
          prod: {
            tier: 'gold',
            storage: s3Storage(bucket),
            redis: { port: primary.port, replica: { host: '127.0.0.1', port: replica.port } },
            schedule: { redis: '* * * * *', redisHeartbeat: '* * * * *' },
            drill: { redis: [{ command: ['GET', 's:7'], expect: 'value-7' }] },
          },
        },
      });

      const beat = await runCli(['--json', 'redis', 'heartbeat', '--env', 'prod'], { cwd: dir });
      assert.equal(beat.code, 0, beat.stderr);
      const at = parseJson<{ result: { key: string; at: string } }>(beat).result.at;
      assert.equal(await primary.cli('GET', 'igbackup:heartbeat'), at);
      await until(
        'the heartbeat on the replica',
        10_000,
        async () => (await replica.cli('GET', 'igbackup:heartbeat')) === at,
      );

      // Pointed at a read-only replica, the heartbeat is not written: exit 1 naming Redis's answer, never "ok".
      const roDir = await tempDir();
      await writeConfig(roDir, {
        envs: { prod: { storage: s3Storage(bucket), redis: { port: replica.port } } },
      });
      const ro = await runCli(['--json', 'redis', 'heartbeat', '--env', 'prod'], { cwd: roDir });
      assert.equal(ro.code, 1, ro.stderr);
      assert.match(ro.stderr, /READONLY/);

      const primaryForks = await forks(primary);
      const replicaForks = await forks(replica);
      const b = await runCli(['--json', 'backup', 'redis', '--env', 'prod'], { cwd: dir });
      assert.equal(b.code, 0, b.stderr);
      assert.equal(await forks(primary), primaryForks, 'the primary was forked for the backup');
      assert.ok((await forks(replica)) > replicaForks, 'the replica made the snapshot');
      const key = parseJson<{ results: { key: string }[] }>(b).results[0]!.key;
      const m = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: `${key}.manifest.json` }));
      const tools = (JSON.parse(await m.Body!.transformToString()) as { tools: Record<string, string> }).tools;
      assert.equal(tools.source, `replica 127.0.0.1:${replica.port}`);
      assert.equal(tools.heartbeat, at);

      const st = await runCli(['--json', 'status', '--env', 'prod'], { cwd: dir });
      const row = parseJson<{ rows: { engine: string; dataAsOf?: string; rpoSeconds: number }[] }>(st).rows.find(
        (r) => r.engine === 'redis',
      )!;
      assert.equal(row.dataAsOf, at);
      assert.ok(row.rpoSeconds >= 0 && row.rpoSeconds < 120, String(row.rpoSeconds));
      const text = await runCli(['status', '--env', 'prod'], { cwd: dir });
      assert.match(text.stdout, new RegExp(`redis/redis: RPO counted from the heartbeat in its last backup, ${at}`));

      const d = await runCli(['--json', 'drill', 'redis', '--env', 'prod'], { cwd: dir });
      assert.equal(d.code, 0, d.stderr);
      const rep = parseJson<{
        reports: { achievedRpoSeconds?: number; checks: { name: string; ok: boolean; detail: string }[] }[];
      }>(d).reports[0]!;
      const rpo = rep.checks.find((c) => c.name === 'RPO (heartbeat)');
      assert.ok(rpo?.ok, JSON.stringify(rep.checks));
      assert.match(
        rpo.detail,
        new RegExp(
          `newest heartbeat in the restored data ${at}: \\d+ s before the backup finished \\(tier target 300 s\\)`,
        ),
      );
      assert.ok(rep.achievedRpoSeconds !== undefined && rep.achievedRpoSeconds < 120);

      // A replica of another primary: in sync, but with someone else's data: refused, never stored as this env's.
      const other = await startRedis();
      try {
        await replica.cli('REPLICAOF', '127.0.0.1', String(other.port));
        await until('the replica following the other primary', 30_000, async () => {
          const info = await replica.cli('INFO', 'replication');
          return /master_link_status:up/.test(info) && info.includes(`master_port:${other.port}`);
        });
        const foreign = await runCli(['backup', 'redis', '--env', 'prod'], { cwd: dir });
        assert.equal(foreign.code, 1, foreign.stderr);
        assert.match(
          foreign.stderr,
          new RegExp(`it follows another primary \\(127\\.0\\.0\\.1:${other.port}, replication ID`),
        );
      } finally {
        await other.stop();
      }

      // Out of sync: the link down (the primary it follows is gone), then not a replica at all. The backup fails
      // (exit 1, naming why and the fix) and the primary is still never forked; doctor says so too (exit 6).
      await replica.cli('REPLICAOF', '127.0.0.1', '1');
      await until('the link down', 10_000, async () =>
        /master_link_status:down/.test(await replica.cli('INFO', 'replication')),
      );
      const down = await runCli(['backup', 'redis', '--env', 'prod'], { cwd: dir });
      assert.equal(down.code, 1, down.stderr);
      assert.match(
        down.stderr,
        new RegExp(
          `redis\\.replica 127\\.0\\.0\\.1:${replica.port} cannot be backed up from: its link to the primary 127\\.0\\.0\\.1:1 is down.*does not fork the primary in its stead`,
        ),
      );
      assert.match(down.stderr, /remove redis\.replica to back up the primary/);
      const doc = await runCli(['doctor', '--env', 'prod'], { cwd: dir });
      assert.equal(doc.code, 6, doc.stdout + doc.stderr);
      assert.match(doc.stdout, /cannot be backed up from: its link to the primary/);
      await replica.cli('REPLICAOF', 'NO', 'ONE');
      const alone = await runCli(['backup', 'redis', '--env', 'prod'], { cwd: dir });
      assert.equal(alone.code, 1, alone.stderr);
      assert.match(alone.stderr, /cannot be backed up from: it is not a replica \(role:master\)/);
      assert.equal(await forks(primary), primaryForks, 'the primary was forked after all');
    } finally {
      await replica.stop();
      await primary.stop();
    }
  });

  it('schedules the heartbeat beside the backups (crontab and CronJob)', async () => {
    const dir = await tempDir();
    await writeConfig(dir, {
      envs: {
        prod: {
          storage: { type: 'file', path: './store' },
          redis: { port: 6379 },
          schedule: { redis: '*/5 * * * *', redisHeartbeat: '* * * * *' },
        },
      },
    });
    const cron = await runCli(['schedule', 'crontab', '--env', 'prod'], { cwd: dir });
    assert.equal(cron.code, 0, cron.stderr);
    assert.match(cron.stdout, /^\* \* \* \* \* .*redis heartbeat --env prod/m);
    assert.match(cron.stdout, /^\*\/5 \* \* \* \* .*backup redis --env prod/m);
  });
});
