// What failures say (pure parts): numbers for people, how a failed program is classified and hinted, a full disk.

import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { explainNoSpace, isNoSpace } from '../../../src/app/disk-space.js';
import { IgbackupError, ProcessFailedError, classifyFailure, signalOfExitCode } from '../../../src/domain/errors.js';
import { formatAmount, formatBytes, formatDuration, formatRate } from '../../../src/domain/human.js';

describe('numbers for people', () => {
  it('bytes and rates: whole bytes, then one decimal below 100, never a raw float', () => {
    assert.equal(formatRate(848.8569393174017), '849 B/s');
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023.4), '1023 B');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(754 * 1024 + 300), '754 KiB');
    assert.equal(formatBytes(1023.96 * 1024), '1.0 MiB');
    assert.equal(formatBytes(5.25 * 1024 ** 3), '5.3 GiB');
    assert.equal(formatRate(12.44 * 1024 ** 2), '12.4 MiB/s');
    assert.equal(formatBytes(Number.NaN), '? B');
  });

  it('durations round without impossible values such as 60.0 s or 1m60s', () => {
    assert.equal(formatDuration(849.6), '850 ms');
    assert.equal(formatDuration(999.7), '1.0 s');
    assert.equal(formatDuration(4_249), '4.2 s');
    assert.equal(formatDuration(59_960), '1m00s');
    assert.equal(formatDuration(119_600), '2m00s');
    assert.equal(formatDuration(185_000), '3m05s');
    assert.equal(formatDuration(3_599_600), '1h00m');
    assert.equal(formatDuration(7_620_000), '2h07m');
    assert.equal(formatDuration(3 * 86_400_000 + 4 * 3_600_000), '3d04h');
    assert.equal(formatDuration(-1), '?');
  });

  it('configured amounts keep at most two decimals', () => {
    assert.equal(formatAmount(24), '24');
    assert.equal(formatAmount(1 / 3), '0.33');
  });
});

describe('a failed program: what the message and hint say', () => {
  const dbHint = { hint: 'check that database "app" exists' };

  it("a plain non-zero exit keeps the caller's hint", () => {
    const e = new ProcessFailedError(
      'pg_dump',
      { exitCode: 1, signal: undefined, stderrTail: 'database "app" does not exist\n' },
      dbHint,
    );
    assert.equal(e.message, 'pg_dump exited with code 1:\ndatabase "app" does not exist');
    assert.equal(e.hint, dbHint.hint);
    assert.equal(e.kind, 'exit');
  });

  it("a session the server ended (a restore swapping the database, an operator): says so, not the caller's hint", () => {
    const tail =
      'pg_dump: error: Dumping the contents of table "t" failed: PQgetResult() failed.\npg_dump: detail: Error message from server: FATAL:  terminating connection due to administrator command\n';
    const e = new ProcessFailedError('pg_dump', { exitCode: 1, signal: undefined, stderrTail: tail }, dbHint);
    assert.match(
      e.hint ?? '',
      /^the PostgreSQL server ended the session \(pg_terminate_backend: a restore swapping this database in, an operator, a failover\); run it again$/,
    );
  });

  it("killed by a signal: named, with why it happens, never the caller's hint", () => {
    const e = new ProcessFailedError('pg_dump', { exitCode: undefined, signal: 'SIGKILL', stderrTail: '' }, dbHint);
    assert.equal(e.message, 'pg_dump was killed by SIGKILL');
    assert.match(e.hint ?? '', /^SIGKILL comes from outside the program: usually the out-of-memory killer/);
    const shell = new ProcessFailedError(
      'pg_dump',
      { exitCode: 137, stderrTail: 'Killed\n', where: 'pod db-0 in namespace prod' },
      dbHint,
    );
    assert.equal(
      shell.message,
      'pg_dump exited with code 137 (128 + 9: killed by SIGKILL) on pod db-0 in namespace prod:\nKilled',
    );
    assert.equal(shell.signal, 'SIGKILL');
    assert.match(
      new ProcessFailedError('x', { signal: 'SIGSEGV', stderrTail: '' }, dbHint).hint ?? '',
      /crashed or was stopped from outside/,
    );
    assert.equal(signalOfExitCode(143), 'SIGTERM');
    assert.equal(signalOfExitCode(1), undefined);
  });

  it('a broken SSH/kubectl channel is a transport failure naming where, not "install pg_dump"', () => {
    const ssh = new ProcessFailedError(
      'pg_dump',
      {
        exitCode: undefined,
        stderrTail: 'ssh to u@db1:22: connect ECONNREFUSED',
        startError: 'ssh to u@db1:22: connect ECONNREFUSED',
        where: 'ssh u@db1:22',
      },
      { hint: 'install the PostgreSQL client (pg_dump) on u@db1:22' },
    );
    assert.equal(
      ssh.message,
      'pg_dump could not be run on ssh u@db1:22 (transport failure: ssh to u@db1:22: connect ECONNREFUSED)',
    );
    assert.match(
      ssh.hint ?? '',
      /^this is the connection to ssh u@db1:22, not pg_dump: check that the host is reachable/,
    );
    const pod = new ProcessFailedError('psql', {
      startError: 'the channel exited 1 before the command reported its status',
      stderrTail: 'Error from server (Forbidden)',
      where: 'pod db-0 in namespace prod',
    });
    assert.equal(pod.kind, 'transport');
    assert.match(pod.hint ?? '', /kubectl exec/);
  });

  it('"install it" is for a command that is not there: not found locally, or exit 127 remotely', () => {
    const hint = { hint: 'install the PostgreSQL client' };
    const local = new ProcessFailedError(
      'pg_dump',
      { startError: 'Command failed with ENOENT: pg_dump --version', stderrTail: 'pg_dump: command not found on PATH' },
      hint,
    );
    assert.equal(local.kind, 'not-found');
    assert.equal(local.hint, hint.hint);
    const remote = new ProcessFailedError(
      'pg_dump',
      { exitCode: 127, stderrTail: 'sh: pg_dump: not found', where: 'ssh u@db1:22' },
      hint,
    );
    assert.equal(
      remote.message,
      'pg_dump exited with code 127 (command not found) on ssh u@db1:22:\nsh: pg_dump: not found',
    );
    assert.equal(remote.hint, hint.hint);
    assert.equal(classifyFailure({ startError: 'spawn EACCES', stderrTail: '' }), 'cannot-start');
  });
});

describe('a full temp dir', () => {
  it('is recognised through the cause chain; other errors pass unchanged', async () => {
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    assert.ok(isNoSpace(new Error('wrapped', { cause: full })));
    const other = new Error('EPIPE');
    const need = {
      base: undefined,
      dir: '/tmp/igbackup-x',
      neededBytes: 5 * 1024 ** 3,
      what: 'the decompressed archive',
      alternatives: ['restore with --jobs 1'],
    };
    assert.equal(await explainNoSpace(other, need), other);
  });

  it('names the directory, the space needed, what is free there and the alternatives', async () => {
    const base = await mkdtemp(join(tmpdir(), 'igb-unit-'));
    const full = Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' });
    const e = (await explainNoSpace(full, {
      base,
      dir: join(base, 'igbackup-abc'),
      neededBytes: 5 * 1024 ** 3,
      what: 'the decompressed archive',
      alternatives: ['restore with --jobs 1'],
    })) as IgbackupError;
    assert.ok(e instanceof IgbackupError);
    assert.match(
      e.message,
      new RegExp(
        `^no space left in ${base} while downloading into ${base}/igbackup-abc: about 5.0 GiB is needed for the decompressed archive \\([\\d.]+ [KMGT]iB free there now\\)`,
      ),
    );
    assert.equal(e.hint, 'point --tmp-dir at a directory with at least 5.0 GiB free; or restore with --jobs 1');
    assert.equal(e.cause, full);
  });
});
