// Redis engine as data: no password in argv, output parsing, persistence report.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as files from '../../../src/engines/files.js';
import * as redis from '../../../src/engines/redis/commands.js';

const conn: redis.RedisConnection = {
  host: 'cache',
  port: 6380,
  user: 'backup',
  password: 'pw',
  tls: { caFile: '/ca.pem', insecure: false },
};

describe('redis engine', () => {
  it('streams the RDB with redis-cli --rdb -, password only as REDISCLI_AUTH', () => {
    const c = redis.rdbStreamCommand(conn);
    assert.deepEqual(c.argv, [
      'redis-cli',
      '-h',
      'cache',
      '-p',
      '6380',
      '--user',
      'backup',
      '--tls',
      '--cacert',
      '/ca.pem',
      '--no-auth-warning',
      '--rdb',
      '-',
    ]);
    assert.deepEqual(c.env, { REDISCLI_AUTH: 'pw' });
    assert.ok(!c.argv.includes('pw'));
  });

  it('parses INFO, CONFIG GET and keyspace', () => {
    const info = redis.parseInfo(
      '# Persistence\r\nloading:0\r\nrdb_last_bgsave_status:ok\r\n\r\n# Keyspace\r\ndb0:keys=10,expires=1,avg_ttl=5\r\ndb3:keys=5,expires=0,avg_ttl=0\r\n',
    );
    assert.equal(info.loading, '0');
    assert.equal(redis.keyspaceKeys(info), 15);
    assert.deepEqual(redis.parseConfigGet('dir\n/var/lib/redis\ndbfilename\ndump.rdb\n'), {
      dir: '/var/lib/redis',
      dbfilename: 'dump.rdb',
    });
    assert.equal(redis.parseCheckRdbKeys('[offset 0] Checking RDB file dump.rdb\n[info] 5000 keys read\n'), 5000);
  });

  it('says what redis-check-rdb proved: the whole file parsed, keys read, the checksum', () => {
    const ok =
      '[offset 0] Checking RDB file r.rdb\n[offset 9470] Checksum OK\n[offset 9470] \\o/ RDB looks OK! \\o/\n[info] 200 keys read\n';
    assert.equal(
      redis.describeCheckRdb(ok),
      'every record parsed to the end of the file, 200 keys read, CRC64 checksum OK',
    );
    assert.match(
      redis.describeCheckRdb('RDB file was saved with checksum disabled: no check performed.\n[info] 3 keys read\n'),
      /3 keys read, no checksum to compare \(saved with rdbchecksum no\)$/,
    );
  });

  it('reports persistence drift against expectations', () => {
    const rows = redis.persistenceReport(
      { save: '3600 1', appendonly: 'no' },
      { rdb_last_bgsave_status: 'err' },
      { save: '900 1', appendonly: true },
    );
    assert.deepEqual(
      rows.map((r) => [r.item, r.status]),
      [
        ['save', 'drift'],
        ['appendonly', 'drift'],
        ['rdb_last_bgsave_status', 'drift'],
      ],
    );
    const none = redis.persistenceReport(
      { save: '', appendonly: 'yes' },
      { rdb_last_bgsave_status: 'ok', aof_last_write_status: 'ok' },
    );
    assert.deepEqual(
      none.map((r) => r.status),
      ['warning', 'info', 'ok', 'ok'],
    );
  });

  it('file steps take paths as arguments, never inside the script', () => {
    const p = "/data/it's dump.rdb";
    assert.equal(files.placeFileCommand(p).argv.at(-1), p);
    assert.ok(!files.placeFileCommand(p).argv[2]?.includes(p));
    assert.equal(redis.disableAofInConfigCommand('/etc/redis.conf').argv.at(-1), '/etc/redis.conf');
  });
  it("a target Redis older than the backup's (by major and minor) is refused; same, newer or unknown pass", () => {
    const old = redis.targetTooOld('7.4.1', '7.0.15', '10.0.0.7:6379');
    assert.match(
      old?.problem ?? '',
      /written by Redis 7\.4\.1; Redis 7\.0\.15 at 10\.0\.0\.7:6379 cannot load a newer RDB/,
    );
    assert.match(old?.hint ?? '', /Redis 7\.4 or newer/);
    assert.equal(redis.targetTooOld('7.0.15', '7.0.11', 'x'), undefined);
    assert.equal(redis.targetTooOld('7.0.15', '7.2.4', 'x'), undefined);
    assert.equal(redis.targetTooOld('6.2.14', '7.0.15', 'x'), undefined);
    assert.ok(redis.targetTooOld('8.0.0', '7.4.2', 'x'));
    assert.equal(redis.targetTooOld('unknown', '7.0.15', 'x'), undefined);
    assert.equal(redis.targetTooOld('7.4.1', undefined, 'x'), undefined);
  });
});
