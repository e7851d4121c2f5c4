// `doctor` against the real services: a healthy env (PostgreSQL over SSH, Redis, the S3 over TLS with its KMS key) is
// all ok with exit 0; each failing check is a fail naming its fix, exit 6: a wrong host key, an unreachable database,
// a client older than the server, a KMS key the store refuses, a schedule too sparse for the tier.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, parseJson, pgSection, runCli, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { knownHostsFile, makeBucket, makeDatabase, sshServer, sshTransport, uniqueName } from '../helpers/servers.js';
import { startRedis, type RedisInstance } from '../helpers/redis.js';

interface Report {
  ok: boolean;
  checks: { area: string; check: string; status: 'ok' | 'warn' | 'fail'; detail: string; fix?: string }[];
}

const REDIS_PW = 'doctor-redis-secret';
const env = { DOCTOR_REDIS_PW: REDIS_PW };

describe('doctor (real PostgreSQL, Redis, OpenSSH and S3)', () => {
  let dir: string;
  let bucket: string;
  let db: string;
  let r: RedisInstance;
  const tiers = { tiers: { silver: { rpoMinutes: 60, rtoMinutes: 60 } } };

  const ssh = (extra: Record<string, unknown> = {}) => sshTransport(dir, extra);
  function healthy(pg: Record<string, unknown> = {}, storage: Record<string, unknown> = {}) {
    return {
      ...tiers,
      envs: {
        prod: {
          tier: 'silver',
          storage: s3Storage(bucket, storage),
          postgres: pgSection([db], { transport: ssh(), ...pg }),
          redis: { host: '127.0.0.1', port: r.port, password: { env: 'DOCTOR_REDIS_PW' } },
          schedule: { postgres: '*/15 * * * *', redis: '*/5 * * * *' },
        },
      },
    };
  }
  const doctor = async (): Promise<{ code: number; report: Report; stderr: string; stdout: string }> => {
    const res = await runCli(['--json', 'doctor', '--env', 'prod'], { cwd: dir, env });
    return { code: res.code, report: parseJson<Report>(res), stderr: res.stderr, stdout: res.stdout };
  };
  const failed = (rep: Report) => rep.checks.filter((c) => c.status === 'fail');

  before(async () => {
    dir = await tempDir();
    bucket = await makeBucket();
    db = await makeDatabase(uniqueName('igb_doctor'), 100);
    r = await startRedis({ password: REDIS_PW });
    await knownHostsFile(dir);
  });
  after(async () => {
    await r?.stop();
  });

  it('a healthy env after its backups: every check ok or warn, exit 0, no secret in the output', async () => {
    await writeConfig(dir, healthy());
    for (const engine of ['postgres', 'redis']) {
      const b = await runCli(['backup', engine, '--env', 'prod'], { cwd: dir, env });
      assert.equal(b.code, 0, b.stderr);
    }
    const d = await doctor();
    assert.equal(d.code, 0, `${d.stdout}\n${d.stderr}`);
    assert.equal(d.report.ok, true);
    assert.deepEqual(failed(d.report), []);
    const names = d.report.checks.map((c) => `${c.area} ${c.check}`);
    for (const want of [
      'storage bucket and KMS key',
      'postgres transport (ssh)',
      `postgres tools on ${sshServer.user}@${sshServer.host}:${sshServer.port}`,
      'postgres login and databases',
      'postgres what a dump may read',
      'redis login and instance',
      'redis what a backup (rdb-stream) may run',
      `postgres/${db} newest backup`,
      'postgres schedule and method vs the silver tier',
    ]) {
      assert.ok(names.includes(want), `${want} in ${names.join(' | ')}`);
    }
    assert.ok(!d.stdout.includes(REDIS_PW) && !d.stderr.includes(REDIS_PW));
    // The table, for a person.
    const text = await runCli(['doctor', '--env', 'prod'], { cwd: dir, env });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^doctor: env prod: \d+ ok, \d+ warn, 0 fail/);
  });

  it('a wrong host key: the transport fails (and what needs it is not run), exit 6', async () => {
    await writeConfig(dir, healthy({ transport: ssh({ hostKeyFingerprint: `SHA256:${'A'.repeat(43)}` }) }));
    const d = await doctor();
    assert.equal(d.code, 6, d.stderr);
    const f = failed(d.report);
    assert.deepEqual(
      f.map((c) => `${c.area} ${c.check}`),
      ['postgres transport (ssh)'],
    );
    assert.match(f[0]?.detail ?? '', /CHANGED or this is another host/);
    assert.match(d.stderr, /doctor: 1 check\(s\) failed: postgres transport \(ssh\)/);
  });

  it('an unreachable database: the login fails with its hint', async () => {
    await writeConfig(dir, healthy({ port: 9 }));
    const d = await doctor();
    assert.equal(d.code, 6, d.stderr);
    const f = failed(d.report).find((c) => c.check === 'login and databases');
    assert.ok(f, JSON.stringify(d.report.checks));
    assert.match(f.detail, /127\.0\.0\.1:9/);
  });

  it('a Redis user that may not run SYNC: fail naming the ACL fix (checked on the server, nothing run)', async () => {
    await r.cli('ACL', 'SETUSER', 'nosync', 'on', `>${REDIS_PW}`, '~*', '&*', '+@all', '-sync', '-psync');
    const cfg = healthy();
    await writeConfig(dir, {
      ...cfg,
      envs: { prod: { ...cfg.envs.prod, redis: { ...cfg.envs.prod.redis, user: 'nosync' } } },
    });
    const d = await doctor();
    assert.equal(d.code, 6, d.stderr);
    const f = failed(d.report).find((c) => c.check === 'what a backup (rdb-stream) may run');
    assert.match(f?.detail ?? '', /"nosync" may not run SYNC/);
    assert.match(f?.fix ?? '', /ACL SETUSER nosync \+sync \(or mode: bgsave\)/);
    assert.ok(!d.stdout.includes(REDIS_PW));
  });

  it('a client older than the server (pg_dump 14 against 15): fail naming the package', async () => {
    await writeConfig(dir, healthy({ transport: { type: 'local' }, binDir: join(ROOT, 'test', 'fixtures', 'pgold') }));
    const d = await doctor();
    assert.equal(d.code, 6, d.stderr);
    const f = failed(d.report).find((c) => c.check === 'login and databases');
    assert.match(f?.detail ?? '', /pg_dump 14\.13 on .* is older than the PostgreSQL 15 server/);
    assert.match(f?.fix ?? '', /install postgresql-client-15 or newer/);
  });

  it('a KMS key the store refuses: the storage probe fails, nothing is left in the bucket', async () => {
    await writeConfig(dir, healthy({}, { kmsKeyId: 'no-such-key-for-doctor' }));
    const d = await doctor();
    assert.equal(d.code, 6, d.stderr);
    const f = failed(d.report).find((c) => c.area === 'storage');
    assert.ok(f, JSON.stringify(d.report.checks));
    assert.match(f.fix ?? '', /kms:GenerateDataKey/);
  });

  it('a schedule too sparse for the tier: fail with the interval that would meet it', async () => {
    const cfg = healthy();
    cfg.envs.prod.schedule = { postgres: '0 3 * * *', redis: '*/5 * * * *' };
    await writeConfig(dir, cfg);
    const d = await doctor();
    assert.equal(d.code, 6, d.stderr);
    const f = failed(d.report).find((c) => c.area === 'postgres' && c.check.startsWith('schedule'));
    assert.match(f?.detail ?? '', /"0 3 \* \* \*" leaves up to 1 d between backups: more than the 1 h RPO target/);
    assert.match(f?.fix ?? '', /run backups at least every/);
  });
});
