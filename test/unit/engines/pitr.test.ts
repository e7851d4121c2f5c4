// The pure parts of point-in-time recovery: pgbackrest.conf, what enable must do, the archiving lag, restore targets,
// and pgBackRest's info as it really prints it (2.45, captured on this machine).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pitrSchema } from '../../../src/config/sections/pitr.js';
import * as info from '../../../src/engines/postgres/pitr-info.js';
import * as repo from '../../../src/engines/postgres/pitr-repo.js';
import * as pitr from '../../../src/engines/postgres/pitr.js';

const p = pitr.withConfPath(pitrSchema.parse({ dataDir: '/var/lib/postgresql/15/main' }), 'prod');
const settings: pitr.PitrSettings = {
  walLevel: 'replica',
  archiveMode: 'on',
  archiveCommand: pitr.archiveCommand(p),
  archiveTimeoutSec: 60,
  dataDirectory: '/var/lib/postgresql/15/main',
  superuser: true,
  versionNum: 150018,
  inRecovery: false,
};

describe('pitr (pure)', () => {
  it('renders pgbackrest.conf for a custom endpoint: host, port, path style, CA, KMS key, keys, bundling', () => {
    const conf = pitr.renderConf({
      pitr: p,
      repo: {
        bucket: 'b',
        region: 'us-east-1',
        endpoint: 'https://localhost:17443',
        caFile: '/var/lib/pgbackrest/igbackup/s3-ca.pem',
        kmsKeyId: 'k1',
        path: pitr.repoPath('team', 'prod', 'main'),
      },
      secrets: { accessKeyId: 'AK', secretAccessKey: 'SK' },
      port: 5432,
      user: 'postgres',
      keepDays: 14,
    });
    for (const line of [
      'repo1-retention-full-type=time',
      'repo1-retention-full=14',
      'repo1-s3-endpoint=localhost',
      'repo1-storage-port=17443',
      'repo1-s3-uri-style=path',
      'repo1-storage-ca-file=/var/lib/pgbackrest/igbackup/s3-ca.pem',
      'repo1-s3-kms-key-id=k1',
      'repo1-path=/team/pgbackrest/prod/main',
      'repo1-s3-key=AK',
      'repo1-s3-key-secret=SK',
      'repo1-bundle=y',
      '[main]',
      'pg1-path=/var/lib/postgresql/15/main',
    ]) {
      assert.ok(conf.split('\n').includes(line), line);
    }
    const aws = pitr.renderConf({
      pitr: p,
      repo: { bucket: 'b', region: 'eu-central-1', kmsKeyId: 'k', path: '/pgbackrest/prod/main' },
      secrets: {},
      port: 5432,
      user: 'postgres',
      keepDays: 0,
    });
    assert.match(aws, /^repo1-retention-full=1$/m, 'keepDays 0: at least the newest full backup and its WAL');
    const counted = pitr.renderConf({
      pitr: { ...p, retentionFull: 3 },
      repo: { bucket: 'b', region: 'eu-central-1', kmsKeyId: 'k', path: '/x' },
      secrets: {},
      port: 5432,
      user: 'postgres',
      keepDays: 14,
    });
    assert.match(counted, /^repo1-retention-full=3$/m);
    assert.doesNotMatch(counted, /retention-full-type/);
    assert.match(aws, /^repo1-s3-endpoint=s3\.eu-central-1\.amazonaws\.com$/m);
    assert.match(aws, /^repo1-s3-uri-style=host$/m);
    assert.match(aws, /^repo1-s3-key-type=auto$/m, 'no keys: the instance or pod role');
    assert.doesNotMatch(aws, /repo1-storage-port|repo1-cipher/);
  });

  it('walGaps: missing segments, across a log boundary and a timeline switch that the history file places', () => {
    const sha = 'a'.repeat(40);
    const seg = (tl: number, log: number, n: number): string =>
      `${tl.toString(16).padStart(8, '0')}${log.toString(16).padStart(8, '0')}${n.toString(16).padStart(8, '0')}`.toUpperCase();
    const file = (tl: number, log: number, n: number): string =>
      `${seg(tl, 0, 0).slice(0, 16)}/${seg(tl, log, n)}-${sha}.zst`;
    // Timeline 1 up to 1/01 (its 1/01 kept only as a .partial); promoted at 1/01000028: timeline 2 from 1/01 on.
    const history = '1\t1/01000028\tno recovery target specified\n';
    const names = [
      '.',
      ...Array.from({ length: 0x10 }, (_, i) => file(1, 0, 0xf0 + i)),
      file(1, 1, 0),
      `0000000100000001/${seg(1, 1, 1)}.partial-${sha}.zst`,
      '00000002.history',
      file(2, 1, 1),
      file(2, 1, 2),
      file(2, 1, 3),
      `0000000100000000/${seg(1, 0, 0xf1)}.00000028.backup`,
    ];
    const from = seg(1, 0, 0xf0);
    assert.deepEqual(repo.walGaps(names, from, seg(2, 1, 3), history), { missing: [], count: 0 });
    const without = (f: string) => names.filter((n) => n !== f);
    assert.deepEqual(repo.walGaps(without(file(2, 1, 2)), from, seg(2, 1, 3), history), {
      missing: ['000000020000000100000002'],
      count: 1,
    });
    // The new timeline's first segment: the parent's .partial does not stand in for it.
    assert.deepEqual(repo.walGaps(without(file(2, 1, 1)), from, seg(2, 1, 3), history), {
      missing: ['000000020000000100000001'],
      count: 1,
    });
    // An abandoned timeline went on past the switch: its later segments do not stand in for timeline 2's.
    const abandoned = [...without(file(2, 1, 2)), file(1, 1, 1), file(1, 1, 2), file(1, 1, 3)];
    assert.deepEqual(repo.walGaps(abandoned, from, seg(2, 1, 3), history).missing, ['000000020000000100000002']);
    // Across the log boundary (0/FF then 1/00), with a limit.
    assert.deepEqual(
      repo.walGaps(
        without(file(1, 0, 0xf5)).filter((n) => n !== file(1, 0, 0xff)),
        from,
        seg(2, 1, 3),
        history,
        16 * 1024 * 1024,
        1,
      ),
      {
        missing: ['0000000100000000000000F5'],
        count: 2,
      },
    );
    assert.deepEqual(repo.walGaps(names, 'bogus', seg(2, 1, 3)), { missing: [], count: 0 });
    // A segment size PostgreSQL cannot have (1 MiB to 1 GiB, a power of two) is not trusted: the default is used.
    assert.deepEqual(repo.walGaps(names, from, seg(2, 1, 3), history, 1), { missing: [], count: 0 });
  });

  it("repoRefusal: pgBackRest's raw HTTP exchange becomes the reason and where to look", () => {
    // As pgBackRest 2.45 prints a refused request (credentials redacted by pgBackRest itself).
    const raw =
      'ERROR: [039]: HTTP request failed with 403 (Forbidden):\n*** Path/Query ***:\nGET /bucket?delimiter=%2F&list-type=2\n*** Response Content ***:\n<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code></Error>';
    const r = repo.repoRefusal(raw);
    assert.equal(r?.what, "the bucket refused pgBackRest's request (HTTP 403 SignatureDoesNotMatch)");
    assert.match(r?.hint ?? '', /postgres\.pitr\.s3Credentials/);
    assert.match(
      repo.repoRefusal('ERROR: [095]: unable to verify certificate presented by localhost:17443')?.hint ?? '',
      /storage\.caFile/,
    );
    assert.equal(repo.repoRefusal('ERROR: [056]: unable to find primary cluster'), undefined);
  });

  it('one pgbackrest.conf per env and cluster unless pitr.configFile names one', () => {
    assert.equal(pitr.confPath(p), '/var/lib/pgbackrest/igbackup/pgbackrest-prod-main.conf');
    assert.match(
      pitr.archiveCommand(p),
      / --config=\/var\/lib\/pgbackrest\/igbackup\/pgbackrest-prod-main\.conf --stanza=main archive-push %p$/,
    );
    const given = pitrSchema.parse({ dataDir: '/srv/pg', configFile: '/etc/pgbackrest/own.conf' });
    assert.equal(pitr.confPath(pitr.withConfPath(given, 'prod')), '/etc/pgbackrest/own.conf');
  });

  it('enable: nothing to do when set up; a foreign archiver, a restart, and server problems are named', () => {
    assert.deepEqual(pitr.planEnable(settings, p), { foreign: undefined, restart: [], reload: false, problems: [] });
    assert.equal(pitr.planEnable({ ...settings, archiveCommand: 'wal-g wal-push %p' }, p).foreign, 'wal-g wal-push %p');
    assert.equal(pitr.planEnable({ ...settings, archiveCommand: '(disabled)' }, p).reload, true);
    assert.deepEqual(pitr.planEnable({ ...settings, archiveMode: 'off', walLevel: 'minimal' }, p).restart, [
      'archive_mode',
      'wal_level',
    ]);
    assert.equal(pitr.planEnable({ ...settings, archiveTimeoutSec: 0 }, p).reload, true);
    const bad = pitr.planEnable({ ...settings, superuser: false, inRecovery: true, dataDirectory: '/srv/pg' }, p);
    assert.equal(bad.problems.length, 3);
  });

  it('archiving lag: ok (bounded by archive_timeout), behind, failing, never', () => {
    const base = {
      archived: 10,
      lastArchivedWal: '00000001000000000000000A',
      lastArchivedAt: '2026-11-27T10:00:00Z',
      failed: 0,
      lastFailedWal: null,
      lastFailedAt: null,
      currentWal: '00000001000000000000000B',
      now: '2026-11-27T10:10:00Z',
    };
    assert.deepEqual(
      [info.archiveLag(base, 60).state, info.archiveLag(base, 60).rpoSeconds],
      ['ok', 60],
      'a quiet server: nothing pending',
    );
    const behind = info.archiveLag({ ...base, currentWal: '00000001000000010000000A' }, 60);
    assert.equal(behind.state, 'behind');
    assert.equal(behind.rpoSeconds, 600);
    const failing = info.archiveLag(
      { ...base, failed: 3, lastFailedWal: 'x', lastFailedAt: '2026-11-27T10:05:00Z' },
      60,
    );
    assert.equal(failing.state, 'failing');
    assert.equal(info.archiveLag({ ...base, lastArchivedWal: null, lastArchivedAt: null }, 60).state, 'never');
  });

  it('restore targets: a time with its zone, in the past; restore arguments', () => {
    const now = new Date('2026-11-27T12:00:00Z');
    assert.deepEqual(info.parseTarget('2026-11-27T10:15:38.945Z', now), {
      target: '2026-11-27 10:15:38.945+00',
      at: new Date('2026-11-27T10:15:38.945Z'),
    });
    assert.equal('target' in info.parseTarget('2026-11-27 11:15:00+01:00', now), true);
    assert.match(JSON.stringify(info.parseTarget('2026-11-27T10:15:00', now)), /no time zone/);
    assert.match(JSON.stringify(info.parseTarget('yesterday', now)), /is not a time/);
    assert.match(JSON.stringify(info.parseTarget('2026-11-28T00:00:00Z', now)), /in the future/);
    assert.deepEqual(info.restoreArgs({ dir: '/d', to: 'T', processMax: 2 }), [
      'restore',
      '--pg1-path=/d',
      '--process-max=2',
      '--type=time',
      '--target=T',
      '--target-action=promote',
      '--archive-mode=off',
    ]);
    assert.ok(info.restoreArgs({ dir: '/d', processMax: 1 }).includes('--type=default'));
  });

  it("reads pgBackRest 2.45's info --output=json", () => {
    const json =
      '[{"archive":[{"database":{"id":1,"repo-key":1},"id":"15-1","max":"000000010000000000000003","min":"000000010000000000000001"}],"backup":[{"archive":{"start":"000000010000000000000002","stop":"000000010000000000000003"},"backrest":{"format":5,"version":"2.45"},"database":{"id":1,"repo-key":1},"error":false,"info":{"delta":22992564,"repository":{"delta":2812102,"size":2812102},"size":22992564},"label":"20261127-101529F","lsn":{"start":"0/2000028","stop":"0/3000050"},"prior":null,"reference":null,"timestamp":{"start":1795774529,"stop":1795774534},"type":"full"}],"cipher":"none","db":[{"id":1,"repo-key":1,"system-id":7712792850269631920,"version":"15"}],"name":"main","repo":[{"cipher":"none","key":1,"status":{"code":0,"message":"ok"}}],"status":{"code":0,"lock":{"backup":{"held":false}},"message":"ok"}}]';
    const s = info.parseStanzaInfo(json, 'main');
    assert.equal(s?.status, 'ok');
    assert.equal(s?.pgVersion, '15');
    assert.equal(s?.walMax, '000000010000000000000003');
    assert.deepEqual(s?.backups[0], {
      label: '20261127-101529F',
      type: 'full',
      startedAt: new Date(1795774529000).toISOString(),
      finishedAt: new Date(1795774534000).toISOString(),
      bytes: 22992564,
      repoBytes: 2812102,
      walStart: '000000010000000000000002',
      walStop: '000000010000000000000003',
      error: false,
    });
    assert.equal(info.parseStanzaInfo(json, 'other'), undefined);
  });

  it('verify: the summary is the verdict (pgBackRest 2.45 exits 0 after finding damage)', () => {
    const damaged = [
      "2026-11-27 10:40:49.164 P02   INFO: invalid checksum '20261127-101631F/pg_data/PG_VERSION.zst'",
      "2026-11-27 10:40:49.208 P02   INFO: invalid checksum '20261127-101631F/pg_data/base/1/112.zst'",
      '2026-11-27 10:41:33.610 P00   INFO: stanza: main',
      '                                    status: error',
      '                                      backup: 20261127-101631F, status: invalid, total files checked: 965, total valid files: 195',
      '                                        checksum invalid: 770',
      '2026-11-27 10:41:33.610 P00   INFO: verify command end: completed successfully (39243ms)',
    ].join('\n');
    assert.equal(
      repo.verifyDamage(damaged),
      'status: error\nbackup: 20261127-101631F, status: invalid, total files checked: 965, total valid files: 195\nchecksum invalid: 770\n2 file(s) with an invalid checksum',
    );
    const clean =
      '2026-11-27 10:30:04.988 P00   INFO: verify command begin 2.45: --stanza=main\n2026-11-27 10:30:04.988 P00   INFO: verify command end: completed successfully (82270ms)\n';
    assert.equal(repo.verifyDamage(clean), undefined);
  });
});
