// The engines' backup plans are data: what each reads, waits for and streams, judged without running anything.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { neo4jSchema, postgresSchema, redisSchema } from '../../../src/config/schema.js';
import { isProblem, type Facts, type Read, type Wait } from '../../../src/engines/backup-plan.js';
import { ENGINE_REGISTRY } from '../../../src/engines/registry.js';
import { chainDecision } from '../../../src/engines/neo4j/commands.js';

const request = { env: 'prod', configFile: '/etc/igbackup.yaml', host: 'db:22', stamp: '20261127-abcd' };

describe('backup plans', () => {
  it('postgres: a missing database is a config problem naming the key to fix; the password never in argv', () => {
    const cfg = postgresSchema.parse({ databases: ['app', 'billing'], password: { env: 'PGPW' } });
    const plan = ENGINE_REGISTRY.postgres.backupPlan(cfg, {
      ...request,
      units: ['app', 'billing'],
      password: 's3cret',
    });
    assert.deepEqual(
      plan.tools.map((t) => t.what),
      ['pg_dump'],
    );
    const exists = plan.checks[0] as Read;
    assert.equal(exists.stdin?.includes("'billing'"), true);
    assert.deepEqual(exists.parse('1\n2\n', {}), {});
    const missing = exists.parse('1\n', {});
    assert.ok(isProblem(missing) && missing.config);
    assert.match(isProblem(missing) ? missing.problem : '', /"billing" not found/);
    assert.match(
      isProblem(missing) ? (missing.hint ?? '') : '',
      /envs\.prod\.postgres\.databases in \/etc\/igbackup\.yaml/,
    );
    const unit = plan.unit('app');
    const [dump] = unit.artifacts({});
    assert.equal(dump?.role, 'dump');
    assert.ok(!dump?.command.argv.join(' ').includes('s3cret'));
    assert.equal(dump?.command.env?.PGPASSWORD, 's3cret');
    const size = unit.steps[0] as Read;
    const facts = size.parse('123456\n15.18\n', {}) as Facts;
    assert.equal(unit.sizeEstimate?.(facts), 123456);
    assert.deepEqual(unit.manifestFacts?.(facts), { server: '15.18' });
    assert.ok(isProblem(size.parse('not a number\n', {})), 'an unreadable size is a problem (warned)');
    assert.ok(size.warn, 'the size is only a warning when it cannot be read');
  });

  it('postgres with globals: pg_dumpall is checked and roles are a second artifact', () => {
    const cfg = postgresSchema.parse({ databases: ['app'], globals: true });
    const plan = ENGINE_REGISTRY.postgres.backupPlan(cfg, { ...request, units: ['app'] });
    assert.deepEqual(
      plan.tools.map((t) => t.what),
      ['pg_dump', 'pg_dumpall'],
    );
    assert.deepEqual(
      plan
        .unit('app')
        .artifacts({})
        .map((a) => a.role),
      ['dump', 'globals'],
    );
  });

  it('redis bgsave: waits for a new save with a good status, then streams the file the server wrote', () => {
    const cfg = redisSchema.parse({ mode: 'bgsave' });
    const plan = ENGINE_REGISTRY.redis.backupPlan(cfg, { ...request, units: [cfg.name] });
    const unit = plan.unit(cfg.name);
    const wait = unit.steps.find((s): s is Wait => s.kind === 'wait');
    assert.ok(wait);
    const before = { savesBefore: '4', lastSaveBefore: '100' };
    assert.equal(
      wait.until({ rdb_saves: '4', rdb_bgsave_in_progress: '0', rdb_last_bgsave_status: 'ok' }, before),
      false,
    );
    assert.equal(
      wait.until({ rdb_saves: '5', rdb_bgsave_in_progress: '1', rdb_last_bgsave_status: 'ok' }, before),
      false,
    );
    assert.equal(
      wait.until({ rdb_saves: '5', rdb_bgsave_in_progress: '0', rdb_last_bgsave_status: 'ok' }, before),
      true,
    );
    const failed = wait.until({ rdb_saves: '5', rdb_bgsave_in_progress: '0', rdb_last_bgsave_status: 'err' }, before);
    assert.ok(typeof failed === 'object' && /rdb_last_bgsave_status:err/.test(failed.problem));
    const old = { savesBefore: '', lastSaveBefore: '100' };
    assert.equal(
      wait.until({ rdb_last_save_time: '101', rdb_bgsave_in_progress: '0', rdb_last_bgsave_status: 'ok' }, old),
      true,
    );
    assert.equal(wait.timeoutMs, cfg.bgsaveTimeoutSec * 1000, 'the wait is bounded by bgsaveTimeoutSec');
    const [rdb] = unit.artifacts({ dir: '/var/lib/redis/', dbfilename: 'dump.rdb' });
    assert.deepEqual(rdb?.command.argv, ['cat', '/var/lib/redis/dump.rdb']);
    assert.equal((unit.steps[0] as Read).what, 'redis-cli GET igbackup:heartbeat', 'the heartbeat is read first');
    const bgsave = unit.steps.find((x) => x.what === 'redis-cli BGSAVE') as Read;
    assert.equal(bgsave.errorAnswer?.test('NOPERM this user has no permissions'), true);
    const refused = bgsave.parse('Background save already in progress', {});
    assert.ok(isProblem(refused) && refused.failed);
  });

  it('redis rdb-stream: the heartbeat read, the replica stream, the key count and the beat kept in the manifest', () => {
    const cfg = redisSchema.parse({});
    const plan = ENGINE_REGISTRY.redis.backupPlan(cfg, { ...request, units: [cfg.name] });
    const unit = plan.unit(cfg.name);
    assert.equal(unit.steps.length, 1);
    const beat = unit.steps[0] as Read;
    assert.deepEqual(beat.parse('2026-11-27T10:00:00.000Z\n', {}), { heartbeat: '2026-11-27T10:00:00.000Z' });
    assert.deepEqual(beat.parse('\n', {}), { heartbeat: '' }, 'no beat yet');
    assert.deepEqual(beat.parse('2026-11-27T11:00:00+01:00\n', {}), { heartbeat: '2026-11-27T10:00:00.000Z' });
    for (const bad of ['garbage', '1795798000', '2026-11-27T16:00:00'])
      assert.ok(isProblem(beat.parse(`${bad}\n`, {})), `${bad} is not a heartbeat`);
    assert.ok(beat.warn, 'an unreadable heartbeat is only a warning');
    assert.ok(unit.artifacts({})[0]?.command.argv.includes('--rdb'));
    assert.deepEqual(unit.manifestFacts?.({ server: '7.0.15', keysAtStart: '12', heartbeat: '' }), {
      server: '7.0.15',
      keysAtStart: '12',
      mode: 'rdb-stream',
      source: 'primary',
    });
  });

  it('redis with a replica: backs up the replica, which must be one in sync; the primary is never the fallback', () => {
    const cfg = redisSchema.parse({ port: 6379, replica: { host: 'replica.local', port: 6380, maxLagSec: 30 } });
    const plan = ENGINE_REGISTRY.redis.backupPlan(cfg, { ...request, units: [cfg.name] });
    const primary = plan.checks[0] as Read;
    assert.deepEqual((primary.command as { argv: string[] }).argv.slice(1, 5), ['-h', '127.0.0.1', '-p', '6379']);
    assert.deepEqual(primary.parse('role:master\nmaster_replid:abc\n', {}), { primaryReplid: 'abc' });
    const check = plan.checks[1] as Read;
    const argv = (check.command as { argv: string[] }).argv;
    assert.deepEqual(argv.slice(1, 5), ['-h', 'replica.local', '-p', '6380']);
    const ok =
      'role:slave\nmaster_host:10.0.0.1\nmaster_port:6379\nmaster_link_status:up\nmaster_last_io_seconds_ago:1\n';
    assert.deepEqual(check.parse(ok, {}), { replicaLagSec: '1' });
    const problem = (out: string): string => {
      const r = check.parse(out, {});
      assert.ok(isProblem(r));
      return r.problem;
    };
    assert.match(problem('role:master\n'), /not a replica \(role:master\)/);
    assert.match(problem(ok.replace('up', 'down')), /link to the primary 10\.0\.0\.1:6379 is down/);
    const follows = check.parse(`${ok}master_replid:other\n`, { primaryReplid: 'abc' });
    assert.ok(
      isProblem(follows) &&
        /it follows another primary .*replication ID other\), not 127\.0\.0\.1:6379 \(abc\)/.test(follows.problem),
    );
    assert.deepEqual(check.parse(`${ok}master_replid:abc\n`, { primaryReplid: 'abc' }), { replicaLagSec: '1' });
    assert.match(
      problem(ok.replace(':1\n', ':45\n')),
      /heard nothing from the primary for 45 s \(redis\.replica\.maxLagSec 30\)/,
    );
    const unit = plan.unit(cfg.name);
    assert.ok(unit.artifacts({})[0]?.command.argv.join(' ').includes('-h replica.local -p 6380'));
    assert.equal(unit.manifestFacts?.({ heartbeat: '2026-11-27T10:00:00.000Z' }).source, 'replica replica.local:6380');
  });

  it('neo4j: Community needs an offline window (service or helper pod); Enterprise cleans its scratch dir', () => {
    const vm = ENGINE_REGISTRY.neo4j.backupPlan(neo4jSchema.parse({}), { ...request, units: ['neo4j'] });
    assert.equal(vm.window?.kind, 'service-stopped');
    assert.equal(vm.before?.[0]?.what, 'neo4j-admin --version', 'on a VM neo4j-admin is checked before the stop');
    assert.equal(vm.before?.[0]?.optional, undefined, 'a missing neo4j-admin fails the backup');
    const k8s = neo4jSchema.parse({
      transport: { type: 'kubernetes', namespace: 'graph', selector: 'app=neo4j' },
      kubernetes: { statefulSet: 'neo4j', pvc: 'data-neo4j-0', image: 'neo4j:5.26-community' },
    });
    const inPod = ENGINE_REGISTRY.neo4j.backupPlan(k8s, { ...request, units: ['neo4j'] });
    assert.equal(inPod.window?.kind, 'kubernetes-helper-pod');
    assert.equal(inPod.tools[0]?.optional, true, 'in the helper pod the version is read for the manifest only');
    const noWorkload = ENGINE_REGISTRY.neo4j.validate({ ...k8s, kubernetes: undefined });
    assert.match(noWorkload?.problem ?? '', /kubernetes is needed/);
    const ent = ENGINE_REGISTRY.neo4j.backupPlan(neo4jSchema.parse({ edition: 'enterprise' }), {
      ...request,
      units: ['neo4j'],
    });
    assert.equal(ent.window, undefined);
    const unit = ent.unit('neo4j');
    assert.equal(unit.cleanup, undefined, 'the chain directory stays for the next differential backup');
    const chain = unit.steps[0] as Read;
    assert.match((chain.command as { argv: string[] }).argv.join(' '), /chain-prod-neo4j/);
    assert.deepEqual(chain.parse('neo4j-a.backup\n', {}), { take: 'FULL', parent: '' }, 'full by default');
    const dir = unit.steps[1] as Read;
    assert.match((dir.command as (f: Facts) => { argv: string[] })({ take: 'FULL' }).argv.join(' '), /rm -rf/);
    const backup = unit.steps[2] as Read;
    assert.match((backup.command as (f: Facts) => { argv: string[] })({ take: 'DIFF' }).argv.join(' '), /--type=DIFF/);
    const newest = unit.steps[3] as Read;
    assert.ok(isProblem(newest.parse('\n', {})), 'no backup file written is a problem');
    assert.deepEqual(unit.artifacts({ file: '/tmp/x/neo4j-1.backup' })[0]?.command.argv, [
      'cat',
      '/tmp/x/neo4j-1.backup',
    ]);
    assert.deepEqual(unit.manifestFacts?.({ take: 'DIFF', parent: 'k0', file: '/w/neo4j-2.backup' }), {
      edition: 'enterprise',
      syntax: '5',
      backupType: 'diff',
      parent: 'k0',
      neo4jArtifact: 'neo4j-2.backup',
    });
    const community = ENGINE_REGISTRY.neo4j.backupPlan(neo4jSchema.parse({}), {
      ...request,
      units: ['neo4j'],
      type: 'diff',
    });
    assert.match(community.refused?.problem ?? '', /--type diff needs Neo4j Enterprise/);
  });

  it('neo4j enterprise chains: a differential backup builds only on the chain the store and the host agree on', () => {
    const store = { key: 'p/neo4j_1.backup.zst', artifact: 'neo4j-1.backup' };
    assert.deepEqual(chainDecision('diff', ['neo4j-0.backup', 'neo4j-1.backup'], store), {
      take: 'DIFF',
      parent: store.key,
    });
    assert.match(
      (chainDecision('diff', [], store) as { problem: string }).problem,
      /the chain on the Neo4j host ends with nothing, the store's with neo4j-1\.backup/,
    );
    assert.match(
      (chainDecision('diff', ['neo4j-1.backup', 'neo4j-2.backup'], store) as { problem: string }).problem,
      /ends with neo4j-2\.backup/,
      'an artifact whose upload failed is never built on',
    );
    assert.match(
      (chainDecision('diff', [], undefined) as { problem: string }).problem,
      /no complete Enterprise backup/,
    );
    assert.deepEqual(chainDecision('auto', [], store), { take: 'FULL' });
    assert.deepEqual(chainDecision('auto', ['neo4j-1.backup'], store), { take: 'DIFF', parent: store.key });
    assert.deepEqual(chainDecision('full', ['neo4j-1.backup'], store), { take: 'FULL' });
  });

  it('native checks: postgres reads the table of contents then every block; redis parses every record; neo4j needs a DBMS', () => {
    const pgPlan = ENGINE_REGISTRY.postgres.nativeCheck('/tmp/x.dump', '/opt/pg/bin');
    assert.equal(pgPlan.kind, 'commands');
    if (pgPlan.kind !== 'commands') return;
    assert.deepEqual(
      pgPlan.steps.map((s) => s.command.argv),
      [
        ['/opt/pg/bin/pg_restore', '--list', '/tmp/x.dump'],
        ['/opt/pg/bin/pg_restore', '--file=/dev/null', '/tmp/x.dump'],
      ],
    );
    assert.deepEqual(
      pgPlan.steps[0]?.judge?.('1; 2 16384 TABLE DATA public t postgres\n2; 3 16385 TABLE public t postgres\n'),
      {
        ok: true,
        detail: '2 archive entries; 1 data',
      },
    );
    assert.equal(pgPlan.steps[0]?.judge?.('nothing\n').ok, false, 'an empty table of contents fails');
    assert.match(pgPlan.steps[1]?.explainFailure?.('pg_restore: error: unexpected EOF') ?? '', /cut short/);
    assert.match(
      pgPlan.summary(['2 archive entries; 1 data']).detail,
      /^table of contents: 2 archive entries; every data block read and decoded \(1 table data/,
    );
    const redisPlan = ENGINE_REGISTRY.redis.nativeCheck('/tmp/d.rdb', '/remote/bin');
    assert.ok(redisPlan.kind === 'commands' && redisPlan.steps[0]?.command.argv[0] === 'redis-check-rdb');
    const neo = ENGINE_REGISTRY.neo4j.nativeCheck('/tmp/n.dump', undefined);
    assert.ok(neo.kind === 'scratch-dbms' && /whole dump loaded/.test(neo.describe('neo4j-dump')));
  });
});
