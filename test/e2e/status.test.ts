// status on real backups with fixed clocks (--at), Prometheus text parsed back, and backups publishing metrics
// to a Pushgateway (a loopback HTTP server here) and a node-exporter textfile.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseJson, pgSection, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { makeBucket, makeDatabase, uniqueName } from '../helpers/servers.js';

const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => {
  name: string;
  metrics: { value: string; labels?: Record<string, string> }[];
}[];

describe('status and metrics', () => {
  it('reports RPO against the tier target with fixed clocks, in a table, JSON and Prometheus text; exit 6 on breach', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const db = await makeDatabase(uniqueName('igb_status'), 50);
    const pushes: { method: string; url: string; body: string }[] = [];
    const gateway = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        pushes.push({ method: req.method ?? '', url: req.url ?? '', body });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
    const port = (gateway.address() as { port: number }).port;
    const textfile = join(dir, 'igbackup.prom');
    await writeConfig(dir, {
      tiers: { gold: { rpoMinutes: 5, rtoMinutes: 60 } },
      envs: {
        prod: {
          tier: 'gold',
          storage: s3Storage(bucket),
          metrics: { pushgateway: `http://127.0.0.1:${port}`, textfile },
          postgres: pgSection([db]),
        },
      },
    });
    const b = await runCli(['--json', 'backup', 'postgres', '--env', 'prod'], { cwd: dir });
    assert.equal(b.code, 0, b.stderr);
    gateway.close();
    assert.equal(pushes.length, 1);
    assert.match(pushes[0]!.url, /^\/metrics\/job\/igbackup\/env\/prod$/);
    assert.match(
      pushes[0]!.body,
      /igbackup_last_success_timestamp_seconds\{env="prod",engine="postgres",database="[^"]+"\}/,
    );
    const fileMetrics = parsePrometheus(await readFile(textfile, 'utf8'));
    assert.ok(fileMetrics.some((m) => m.name === 'igbackup_backup_bytes'));

    const l = parseJson<{ backups: { finishedAt: string }[] }>(
      await runCli(['--json', 'list', '--env', 'prod'], { cwd: dir }),
    );
    const finished = Date.parse(l.backups[0]!.finishedAt);
    const at = (ms: number): string => new Date(finished + ms).toISOString();

    const ok = await runCli(['status', '--env', 'prod', '--format', 'prometheus', '--at', at(60_000)], { cwd: dir });
    assert.equal(ok.code, 0, ok.stderr);
    const metrics = parsePrometheus(`${ok.stdout}\n`); // the runner strips the final newline the parser needs
    const value = (name: string): number => Number(metrics.find((m) => m.name === name)?.metrics[0]?.value);
    assert.equal(value('igbackup_rpo_seconds'), 60);
    assert.equal(value('igbackup_rpo_target_seconds'), 300);
    assert.equal(value('igbackup_rto_target_seconds'), 3600);
    assert.equal(value('igbackup_target_breached'), 0);
    assert.equal(value('igbackup_last_success_timestamp_seconds'), finished / 1000);

    const late = await runCli(['--json', 'status', '--env', 'prod', '--at', at(10 * 60_000)], { cwd: dir });
    assert.equal(late.code, 6, late.stderr);
    const s = parseJson<{ ok: boolean; rows: { rpoSeconds: number; breached: boolean; reason: string }[] }>(late);
    assert.equal(s.ok, false);
    assert.equal(s.rows[0]?.rpoSeconds, 600);
    assert.match(s.rows[0]?.reason ?? '', /RPO 600 s exceeds the gold target of 300 s/);

    const table = await runCli(['status', '--env', 'prod', '--at', at(120_000)], { cwd: dir });
    assert.equal(table.code, 0, table.stderr);
    assert.match(
      table.stdout,
      /ENGINE\s+DATABASE\s+LAST BACKUP\s+SIZE\s+TOOK\s+RPO\s+TARGET\s+LAST DRILL\s+RTO\s+TARGET\s+STATE/,
    );
    assert.match(table.stdout, /2\.0 s|2m00s/);
  });

  it('a configured database without any backup is a breach', async () => {
    const dir = await tempDir();
    await writeConfig(dir, {
      tiers: { gold: { rpoMinutes: 5, rtoMinutes: 60 } },
      envs: {
        prod: { tier: 'gold', storage: s3Storage(await makeBucket()), postgres: pgSection(['never_backed_up']) },
      },
    });
    const r = await runCli(['status', '--env', 'prod'], { cwd: dir });
    assert.equal(r.code, 6);
    assert.match(r.stdout, /never_backed_up\s+never/);
    assert.match(r.stderr, /no complete backup/);
  });
});
