// The standing fault matrix: every fault igbackup is known to meet, the guarantee it gives and the test that proves
// it (README "Reliability" lists the same rows). The backup and restore faults that are cheap to cause run here once
// more, all checked against the same invariants: the documented exit code, promptly, no crash, nothing stored (no
// object, no manifest, no open upload, no lock), no dump left running on the server, the target untouched.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeReadyPod } from '../helpers/kube.js';
import { BIN, ROOT, parseJson, pgSection, s3Storage, tempDir, writeConfig } from '../helpers/cli.js';
import { rawS3 } from '../helpers/crafted.js';
import { survivors } from '../helpers/procs.js';
import { execa } from 'execa';
import {
  assertNothingStored,
  dropDatabase,
  fingerprint,
  makeBucket,
  makeDatabase,
  pg,
  psql,
  uniqueName,
} from '../helpers/servers.js';
import { noCrash, pidsIn, timed } from '../helpers/timed.js';

interface Row {
  fault: string;
  guarantee: string;
  /** The test that proves it: file under test/ and the exact test name (or its start). */
  proof: [string, string];
}

const F = 'e2e/fault-matrix.test.ts';
export const MATRIX: Row[] = [
  {
    fault: 'producer exits non-zero after a complete-looking dump',
    guarantee: 'exit 1 with its stderr; nothing stored',
    proof: [F, 'producer exits non-zero after a complete-looking dump'],
  },
  {
    fault: 'producer killed by SIGKILL (OOM killer, operator)',
    guarantee: 'exit 1 naming the signal and its usual causes; nothing stored',
    proof: [F, 'producer killed by SIGKILL (OOM killer, operator)'],
  },
  {
    fault: 'compressor dies mid-stream',
    guarantee: 'exit 1 naming zstd; nothing stored',
    proof: [F, 'compressor dies mid-stream'],
  },
  {
    fault: 'compressor exits 0 with short output',
    guarantee:
      'the stored stream is decompressed on the way and must equal what the producer wrote: exit 3; nothing stored',
    proof: [F, 'compressor exits 0 with short output'],
  },
  {
    fault: 'producer exits 0 with empty or foreign output',
    guarantee: 'the format magic (PGDMP, REDIS) is checked: exit 3; nothing stored',
    proof: [F, 'producer exits 0 with empty or foreign output'],
  },
  {
    fault: 'a local producer writes nothing (stuck)',
    guarantee: 'idle timeout (transport.idleTimeoutSec): exit 1; nothing stored',
    proof: [F, 'a local producer writes nothing (stuck)'],
  },
  {
    fault: 'pg_dump waits on a table lock',
    guarantee: 'pg_dump --lock-wait-timeout (postgres.lockWaitTimeoutSec): exit 1 naming the lock; nothing stored',
    proof: [F, 'pg_dump waits on a table lock'],
  },
  {
    fault: 'kubectl loses the tail of the stream and exits 0',
    guarantee: 'trailer mismatch: exit 3; nothing stored',
    proof: [F, 'kubectl loses the tail of the stream and exits 0'],
  },
  {
    fault: 'kubectl exits non-zero',
    guarantee: 'exit 1 naming the pod; nothing stored',
    proof: [F, 'kubectl exits non-zero'],
  },
  { fault: 'kubectl hangs', guarantee: 'idle timeout ends it: exit 1; nothing stored', proof: [F, 'kubectl hangs'] },
  {
    fault: 'a descendant of kubectl keeps its pipes open',
    guarantee: 'idle timeout, the holder cut off: exit 1 within seconds; nothing stored',
    proof: [F, 'a descendant of kubectl keeps its pipes open'],
  },
  {
    fault: 'a local producer exits 0 while a descendant holds its output',
    guarantee: 'its group ended after 2 s: exit 1; nothing stored',
    proof: ['e2e/hang.test.ts', 'a local producer that exits 0 while a descendant holds its output'],
  },
  {
    fault: 'SSH session dropped mid-stream',
    guarantee: 'exit 1; no object, no manifest',
    proof: ['e2e/transports.test.ts', 'the sshd session killed mid-stream fails the backup'],
  },
  {
    fault: 'PostgreSQL backend terminated mid-dump',
    guarantee: 'exit 1; no object, no manifest, no open upload',
    proof: ['e2e/postgres-failures.test.ts', 'the PostgreSQL backend terminated mid-dump'],
  },
  {
    fault: 'KMS key unknown or denied',
    guarantee: 'exit 1 naming the key; nothing stored',
    proof: [F, 'KMS key unknown or denied'],
  },
  {
    fault: 'S3 endpoint unreachable',
    guarantee: 'exit 1 naming the endpoint; pg_dump stopped',
    proof: ['e2e/postgres-failures.test.ts', 'S3 unreachable: exit 1 naming the endpoint'],
  },
  {
    fault: 'S3 stalls mid-upload',
    guarantee: 'bounded requests (3 attempts): exit 1 naming the endpoint, upload aborted, lock gone',
    proof: ['e2e/hang.test.ts', 'a part upload that stalls'],
  },
  {
    fault: 'S3 stalls mid-download',
    guarantee: 'restore and verify exit 1 naming the endpoint; the database untouched',
    proof: ['e2e/hang.test.ts', 'a download that stops mid-body'],
  },
  {
    fault: 'no AWS credentials',
    guarantee: 'exit 2 naming the variables and profile; nothing runs',
    proof: ['e2e/messages.test.ts', 'no AWS credentials anywhere'],
  },
  {
    fault: 'the restore temp dir too small for the artifact',
    guarantee:
      'preflight: exit 2 naming the directory, the space needed and the ways out, before anything is downloaded; no scratch database',
    proof: ['e2e/restore-safety-postgres.test.ts', 'a temp dir too small for the dump'],
  },
  {
    fault: 'SIGTERM/SIGINT at any stage of an upload',
    guarantee: 'exit 130 within 10 s; what was stored removed (by version) and named; lock released',
    proof: ['e2e/cancel.test.ts', 'between the artifact and the manifest'],
  },
  {
    fault: 'the same signal sent to igbackup and to its process group at once (timeout, npm, CI runners)',
    guarantee: 'one request: the normal cancel, exit 130, lock released; only a signal a second later stops at once',
    proof: [F, 'the same signal twice at once'],
  },
  {
    fault: 'a signal after the manifest was written',
    guarantee: 'the backup is complete and kept: exit 0, the message says so',
    proof: ['e2e/cancel.test.ts', 'after the manifest was confirmed'],
  },
  {
    fault: 'the terminal or SSH session closes (SIGHUP), or the reader of the output goes away (| head)',
    guarantee:
      'SIGHUP cancels like SIGTERM (exit 130, the target untouched, the lock released); a closed output never ends a run half-way',
    proof: ['e2e/restore-signals.test.ts', 'SIGHUP (the terminal or SSH session closed)'],
  },
  {
    fault: 'more signals while a restore brings a stopped Redis or Neo4j back',
    guarantee:
      'igbackup waits for the recovery (past its 8 s last resort), a second signal only says so; a third stops at once: exit 69, the service named DOWN with the command that brings it back',
    proof: ['e2e/restore-signal-guard.test.ts', 'a second signal during the recovery only says so'],
  },
  {
    fault: 'cleanup itself stalls after a signal',
    guarantee: 'exit 130 after 8 s listing what may be left',
    proof: ['e2e/cancel.test.ts', 'cleanup that stalls too'],
  },
  {
    fault: 'artifact changed in the store (same size)',
    guarantee: 'sha256 mismatch before anything is touched: exit 3; the database unchanged',
    proof: [F, 'artifact changed in the store (same size)'],
  },
  {
    fault: 'artifact missing or cut short',
    guarantee: 'not a complete backup: restore and verify exit 3 at once; never --latest, never counted',
    proof: ['e2e/missing-artifact.test.ts', 'postgres on'],
  },
  {
    fault: 'dump truncated by a producer that exited 0',
    guarantee: 'verify reads every block: exit 3',
    proof: ['e2e/verify.test.ts', 'postgres: a dump cut short by a producer that exited 0'],
  },
  {
    fault: 'manifests that lie (other env or database, .. paths, future dates, unparsable, future schema)',
    guarantee: 'suspect with reasons: never restored by --latest, never counted for the RPO, never a prune rail',
    proof: ['e2e/catalog.test.ts', 'S3 (radosgw): lying manifests'],
  },
  {
    fault: 'prune over lying state',
    guarantee:
      "deletes only inside the env's own folders, never the last complete backup, suspects and orphans only after the grace period",
    proof: ['e2e/catalog.test.ts', 'file store: the same crafted state'],
  },
  {
    fault: 'artifact replaced after the backup',
    guarantee: 'never stands in for older backups in prune; --latest prefers an intact one',
    proof: ['e2e/catalog.test.ts', 'a same-size replaced artifact'],
  },
  {
    fault: 'lock from the future or garbled; --force-unlock of a live run',
    guarantee: 'taken over with a warning; a live holder on this host is refused (exit 7)',
    proof: ['e2e/lock.test.ts', 'takes over a stale lock'],
  },
  {
    fault: 'a lock left by a run that died on this host, or a record of another env or engine',
    guarantee:
      "taken over with a warning naming why (the holder's pid is not running in the same pid namespace; not credible)",
    proof: ['e2e/lock.test.ts', 'a lock of a run that died on this host is taken over'],
  },
  {
    fault: 'one of several databases fails',
    guarantee: 'the others are still backed up, each reported; exit non-zero',
    proof: ['e2e/backup-many.test.ts', 'one database failing mid-run'],
  },
  {
    fault: 'a configured database does not exist',
    guarantee: 'preflight: exit 2 before anything runs',
    proof: ['e2e/backup-many.test.ts', 'an unknown database fails the preflight'],
  },
  {
    fault: 'scheduled jobs of an env all start at the same minute',
    guarantee: 'one job per engine backs up every database in turn; none refused by the lock',
    proof: ['e2e/schedule-run.test.ts', 'crontab'],
  },
  {
    fault: "the SSH user cannot write Redis's dir (or the dump, or the config file when AOF is on)",
    guarantee:
      'restore preflight: exit 2 naming each problem and its fix, before anything is downloaded or stopped; Redis untouched',
    proof: ['e2e/restore-safety-redis.test.ts', 'over SSH, a dir the SSH user cannot write'],
  },
  {
    fault: "Redis's start command does not exist; AOF on and CONFIG SET not allowed",
    guarantee: 'restore preflight: exit 2 before the stop; Redis untouched',
    proof: ['e2e/restore-safety-redis.test.ts', 'a start command that does not exist'],
  },
  {
    fault: 'Redis cannot save its current state before the stop',
    guarantee: 'exit 1 with Redis running and unchanged (SHUTDOWN SAVE refuses to stop it)',
    proof: ['e2e/restore-safety-redis.test.ts', 'Redis cannot save (its dir became read-only for it)'],
  },
  {
    fault: 'a Redis restore fails after the stop, with writes since the last save',
    guarantee:
      'Redis back with exactly the state at the stop (AOF off and on); exit 1, the recovery says what it brought back',
    proof: ['e2e/restore-undo-redis.test.ts', 'writes since the last save survive a restore that fails after the stop'],
  },
  {
    fault: 'the recovery cannot start Redis again',
    guarantee: 'exit 69; the first line says Redis is DOWN; the hint gives the commands that bring back the state',
    proof: ['e2e/restore-undo-redis.test.ts', 'a recovery that cannot start Redis'],
  },
  {
    fault: 'SIGTERM while igbackup starts Redis (locally, AOF on, over SSH)',
    guarantee:
      'exit 130; the Redis it started is stopped without saving; dump and config back; exactly the state at the stop; no copies left',
    proof: ['e2e/restore-undo-redis.test.ts', 'SIGTERM while the start command runs'],
  },
  {
    fault: 'SIGTERM while the restored RDB is written over SSH',
    guarantee: 'exit 130; the state at the stop; no copy or temp file left',
    proof: ['e2e/restore-undo-redis.test.ts', 'over SSH, SIGTERM as the restored RDB'],
  },
  {
    fault: 'SIGTERM while AOF is turned back on; Redis cannot turn AOF on',
    guarantee: 'exit 130 / 1; the untouched AOF and config back, also after a restart',
    proof: ['e2e/restore-undo-redis.test.ts', 'SIGTERM while AOF is turned back on'],
  },
  {
    fault: 'maxmemory too small for the restored dataset (evictions, OOM)',
    guarantee:
      'exit 1 naming maxmemory and the policy; the state at the stop back; a RDB that alone cannot fit is exit 2 before any stop',
    proof: ['e2e/restore-undo-redis.test.ts', 'maxmemory too small for the restored dataset'],
  },
  {
    fault: 'the config file cannot be put back after the restore was persisted',
    guarantee: 'exit 1 saying the restore is done, with the exact command',
    proof: ['e2e/restore-undo-redis.test.ts', 'past the point of no return'],
  },
  {
    fault: 'the Redis config file is a symlink (AOF on)',
    guarantee: 'the link kept, its target back to the original',
    proof: ['e2e/restore-undo-redis.test.ts', 'a symlinked config file (AOF on)'],
  },
  {
    fault: 'Redis not running before a restore; an ACL user without SHUTDOWN or BGSAVE, or a wrong password',
    guarantee: 'exit 2 before anything is downloaded or stopped, saying what to do',
    proof: ['e2e/restore-safety-redis.test.ts', 'Redis does not answer'],
  },
  {
    fault: 'Neo4j service control or neo4j-admin missing, the Enterprise work dir or the PVC missing',
    guarantee: 'restore preflight: exit 2 before anything is stopped or scaled',
    proof: ['e2e/neo4j.test.ts', 'a stop command that does not exist'],
  },
  {
    fault: 'Neo4j does not come back (start keeps failing, a rollout never completes)',
    guarantee: 'exit 69; DOWN first, the commands named; a backup already stored is kept',
    proof: ['e2e/neo4j.test.ts', 'a start that keeps failing after a failed load'],
  },
  {
    fault: 'restore --with-globals where the roles already exist (a rotated password, an attribute granted since)',
    guarantee:
      'existing roles kept exactly (password, attributes, settings, comments, memberships); missing roles created; --overwrite-roles re-applies; the output lists both',
    proof: ['e2e/restore-safety-postgres.test.ts', '--with-globals keeps existing roles exactly'],
  },
  {
    fault: 'a globals statement fails',
    guarantee: 'roles are applied in one transaction: all rolled back; the error carries no password',
    proof: ['e2e/restore-safety-postgres.test.ts', 'a failing statement rolls the whole role transaction back'],
  },
  {
    fault: 'the restoring role lacks CREATEDB, does not own the existing target, or has too few connections for --jobs',
    guarantee:
      'preflight: exit 2 naming the privilege or limit and the fix, before any download; no scratch database; the target untouched',
    proof: ['e2e/restore-safety-postgres.test.ts', 'a role without CREATEDB'],
  },
  {
    fault: 'restore into a template database, a name over 63 bytes, an empty name or the maintenance database',
    guarantee: 'exit 2 before anything is downloaded; nothing changed',
    proof: ['e2e/restore-target-postgres.test.ts', 'a template, a name over 63 bytes'],
  },
  {
    fault: 'restore over a database with its own owner, privileges, settings, per-role settings and comment',
    guarantee: 'the swapped-in database keeps them all (only the data is new); sessions it ends are announced',
    proof: ['e2e/restore-target-postgres.test.ts', 'the swapped-in database keeps owner, privileges'],
  },
  {
    fault: "sessions on the target that the restoring role may not end (a superuser's)",
    guarantee: 'preflight: exit 2 before anything; the sessions live',
    proof: ['e2e/restore-target-postgres.test.ts', 'a session of a superuser on the target'],
  },
  {
    fault: '--with-globals with roles to create and no CREATEROLE',
    guarantee: 'exit 2 after the small globals download, before the dump is downloaded',
    proof: ['e2e/restore-safety-postgres.test.ts', '--with-globals with roles to create and no CREATEROLE'],
  },
  {
    fault: 'a Neo4j restore whose load or consistency check fails',
    guarantee:
      'a copy of the current database, taken before the load, is loaded back; Neo4j running as found; exit 1 saying so',
    proof: ['e2e/restore-safety-neo4j.test.ts', 'check fails after the load'],
  },
  {
    fault: 'SIGTERM during a Neo4j load (the old store already removed)',
    guarantee: 'the copy is loaded back, Neo4j running, exit 130',
    proof: ['e2e/restore-safety-neo4j.test.ts', 'SIGTERM during the load'],
  },
  {
    fault: 'the copy of the current Neo4j database cannot be made',
    guarantee: 'nothing is loaded; Neo4j started on its untouched store; exit 1',
    proof: ['e2e/restore-safety-neo4j.test.ts', "the copy's own dump fails"],
  },
  {
    fault: 'putting the previous Neo4j database back fails (VM or Kubernetes)',
    guarantee: 'exit 69, DOWN first; the copy kept outside the temp dir; the commands named bring the old store back',
    proof: ['e2e/restore-safety-neo4j.test.ts', "the put-back's load fails"],
  },
  {
    fault: 'the temp dir cannot hold the Neo4j backup and the copy',
    guarantee: 'preflight: exit 2 before the download and the stop; a copy bigger than estimated fails before any load',
    proof: ['e2e/restore-safety-neo4j.test.ts', 'preflight: a temp dir that cannot hold'],
  },
  {
    fault: 'two restores into the same target (0.3 s apart, or at the same moment)',
    guarantee:
      'one runs; the other exits 7 naming the holder before anything is touched; other targets are not held up',
    proof: ['e2e/restore-lock.test.ts', 'a second restore into the same database 0.3 s later'],
  },
  {
    fault: 'a Redis or Neo4j restore while a backup of it runs (or the other way round)',
    guarantee: 'one lock per service: exit 7 before anything is touched',
    proof: ['e2e/restore-lock.test.ts', 'a Redis restore while a backup'],
  },
];

const KUBE = join(ROOT, 'test', 'fixtures', 'kube');
const FIX = (name: string): string => join(ROOT, 'test', 'fixtures', name);

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('fault matrix', () => {
  it('every row names a test that exists, and the README lists every row', async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    for (const row of MATRIX) {
      const [file, name] = row.proof;
      const text = await readFile(join(ROOT, 'test', file), 'utf8');
      assert.ok(
        // Prettier writes a title with an apostrophe in double quotes.
        [`'${name}`, `"${name}`, `\`${name}`].some((opening) => text.includes(opening)),
        `${file} has no test "${name}"`,
      );
      assert.ok(
        readme.includes(`| ${row.fault} | ${row.guarantee} |`),
        `README Reliability lacks the row for "${row.fault}"`,
      );
    }
  });
});

describe('fault matrix: backup faults, one set of invariants', () => {
  let dir: string;
  let db: string;
  let pods: string;
  before(async () => {
    dir = await tempDir();
    db = await makeDatabase(uniqueName('igb_matrix'), 300);
    pods = await writeReadyPod(dir);
  });
  after(async () => dropDatabase(db));

  const kube = { type: 'kubernetes', namespace: 'db', selector: 'app=pg' };
  const kubeIdle = { ...kube, idleTimeoutSec: 3 };
  // A session holding a table lock for the length of one case; returns how to end it.
  const holdLock = async (): Promise<() => Promise<void>> => {
    const locker = execa('psql', ['-X', '-q', '-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', '-d', db], {
      input: 'BEGIN; LOCK TABLE customers IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60);',
      env: { PGPASSWORD: pg.password },
      reject: false,
    });
    await waitFor(
      async () =>
        (await psql(
          'postgres',
          `SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE d.datname = '${db}' AND l.mode = 'AccessExclusiveLock' AND l.granted`,
        )) !== '0',
    );
    return async () => {
      // pg_sleep does not notice a client that went away: end the backend, so the lock is gone for the next case.
      await psql(
        'postgres',
        `SELECT pg_terminate_backend(l.pid) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE d.datname = '${db}' AND l.mode = 'AccessExclusiveLock'`,
      );
      locker.kill();
      await locker;
    };
  };
  const cases: {
    fault: string;
    pg?: Record<string, unknown>;
    storage?: Record<string, unknown>;
    env?: Record<string, string>;
    during?: () => Promise<() => Promise<void>>;
    code: number;
    says: RegExp;
  }[] = [
    {
      fault: 'producer exits non-zero after a complete-looking dump',
      pg: { binDir: FIX('pgfail') },
      code: 1,
      says: /pg_dump exited with code 3[\s\S]*injected failure/,
    },
    {
      fault: 'producer killed by SIGKILL (OOM killer, operator)',
      pg: { binDir: FIX('pgkill') },
      code: 1,
      says: /pg_dump was killed by SIGKILL/,
    },
    {
      fault: 'compressor dies mid-stream',
      env: { PATH: `${FIX('zstdfail')}:${process.env.PATH}` },
      code: 1,
      says: /zstd/,
    },
    {
      fault: 'compressor exits 0 with short output',
      env: { PATH: `${FIX('zstdshort')}:${process.env.PATH}` },
      code: 3,
      says: /does not decompress \(the round-trip check failed\)|decompresses to \d+ bytes .*but the producer wrote \d+/,
    },
    {
      fault: 'producer exits 0 with empty or foreign output',
      pg: { binDir: FIX('pgempty') },
      code: 3,
      says: /does not start like a pg_dump custom-format archive \(0 bytes/,
    },
    {
      fault: 'a local producer writes nothing (stuck)',
      pg: { binDir: FIX('pgstall'), transport: { type: 'local', idleTimeoutSec: 2 } },
      code: 1,
      says: /no data from pg_dump for 2 s \(idle timeout\)/,
    },
    {
      fault: 'pg_dump waits on a table lock',
      pg: { lockWaitTimeoutSec: 1 },
      during: holdLock,
      code: 1,
      says: /pg_dump exited with code 1[\s\S]*(could not obtain lock|canceling statement due to statement timeout)/,
    },
    {
      fault: 'kubectl loses the tail of the stream and exits 0',
      pg: { transport: kube },
      env: { IGB_KUBECTL_TRUNCATE_TAIL: '1000' },
      code: 3,
      says: /incomplete or altered/,
    },
    {
      fault: 'kubectl exits non-zero',
      pg: { transport: kube },
      env: { IGB_KUBECTL_EXIT: '1' },
      code: 1,
      says: /pod app=pg in namespace db/,
    },
    {
      fault: 'kubectl hangs',
      pg: { transport: kubeIdle },
      env: { IGB_KUBECTL_HANG: '1' },
      code: 1,
      says: /idle timeout/,
    },
    // Which bound fires first (the idle timeout, or the held-open output after kubectl was ended) depends on load: both are exit 1, nothing stored.
    {
      fault: 'a descendant of kubectl keeps its pipes open',
      pg: { transport: kubeIdle },
      env: { IGB_KUBECTL_HOLD_PIPES: 'setsid' },
      code: 1,
      says: /idle timeout|output was still held open/,
    },
    {
      fault: 'KMS key unknown or denied',
      storage: { kmsKeyId: 'igb-matrix-unknown-key' },
      code: 1,
      says: /KMS key igb-matrix-unknown-key/,
    },
  ];
  for (const c of cases) {
    it(c.fault, async () => {
      const bucket = await makeBucket();
      await writeConfig(dir, {
        envs: { ci: { storage: s3Storage(bucket, c.storage ?? {}), postgres: pgSection([db], c.pg ?? {}) } },
      });
      const holders = join(dir, `holders-${uniqueName('h')}`);
      const release = await c.during?.();
      const kubeEnv: Record<string, string> =
        (c.pg?.transport as { type?: string } | undefined)?.type === 'kubernetes'
          ? {
              PATH: `${KUBE}:${process.env.PATH}`,
              IGB_KUBE_PODS: pods,
              IGB_KUBECTL_FAULT_ONLY: '--format=custom',
              IGB_KUBECTL_HOLDER_PID: holders,
            }
          : {};
      const r = await timed(['backup', 'postgres', '--env', 'ci'], dir, { ...kubeEnv, ...(c.env ?? {}) });
      await release?.();
      for (const p of await survivors(await pidsIn(holders))) process.kill(p, 'SIGKILL');
      assert.equal(r.code, c.code, r.stderr);
      assert.match(r.stderr, c.says);
      assert.ok(r.ms < 60_000, `took ${r.ms} ms`);
      noCrash(r);
      await assertNothingStored(bucket); // no artifact, no manifest, no open upload, no lock
      const dumps = await psql(
        'postgres',
        `SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_dump' AND datname = '${db}'`,
      );
      assert.equal(dumps, '0', 'a pg_dump is still running');
    });
  }

  it('artifact changed in the store (same size)', async () => {
    const bucket = await makeBucket();
    await writeConfig(dir, { envs: { ci: { storage: s3Storage(bucket), postgres: pgSection([db]) } } });
    const b = await timed(['--json', 'backup', 'postgres', '--env', 'ci'], dir);
    assert.equal(b.code, 0, b.stderr);
    const key = parseJson<{ results: { key: string }[] }>({ ...b }).results[0]!.key;
    const raw = rawS3(bucket);
    const bytes = await raw.get(key);
    const mid = Math.floor(bytes.length / 2);
    bytes[mid] = (bytes[mid] ?? 0) ^ 0xff;
    await raw.put(key, bytes);
    const before = await fingerprint(db);
    for (const args of [
      ['restore', 'postgres', '--env', 'ci', '--from', key, '--yes'],
      ['verify', 'postgres', '--env', 'ci', '--from', key],
    ]) {
      const r = await timed(args, dir);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /does not match its manifest: .*sha256/);
      noCrash(r);
    }
    assert.equal(await fingerprint(db), before);
    assert.equal(await psql('postgres', `SELECT count(*) FROM pg_database WHERE datname LIKE '${db}__igb%'`), '0');
  });
});

describe('fault matrix: signals', () => {
  it('the same signal twice at once: one cancel, exit 130, nothing stored, lock released', async () => {
    const dir = await tempDir();
    const bucket = await makeBucket();
    const db = await makeDatabase(uniqueName('igb_matrix_sig'), 50);
    await writeConfig(dir, {
      envs: { ci: { storage: s3Storage(bucket), postgres: pgSection([db], { binDir: FIX('pgstall') }) } },
    });
    const child = execa('node', [BIN, 'backup', 'postgres', '--env', 'ci'], {
      cwd: dir,
      env: { NO_COLOR: '1', TEST_PG_PASSWORD: pg.password },
      reject: false,
      timeout: 60_000,
    });
    let stderr = '';
    await new Promise<void>((resolve) =>
      child.stderr?.on('data', (c: Buffer) => ((stderr += c.toString()), /dumping/.test(stderr) && resolve())),
    );
    child.kill('SIGTERM');
    child.kill('SIGTERM');
    const r = await child;
    assert.equal(r.exitCode, 130, String(r.stderr));
    assert.doesNotMatch(String(r.stderr), /stops now/);
    await assertNothingStored(bucket);
    await dropDatabase(db);
  });
});
