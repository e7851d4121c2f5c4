// Children in their own process group: held pipes are bounded, a TERM-ignoring child is killed, a cancel ends what
// runs (and only that), and the notes a cleanup adds keep the error's class.

import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { CancelledError, IntegrityError } from '../../../src/domain/errors.js';
import { notesOf, withNote } from '../../../src/domain/notes.js';
import { KILL_GRACE_MS, runChild, spawnChild } from '../../../src/transports/child.js';
import { watchLinger } from '../../../src/transports/linger.js';
import { LocalTransport } from '../../../src/transports/local.js';
import { capture } from '../../../src/transports/run.js';
import { gone } from '../../helpers/procs.js';

describe('spawnChild', () => {
  it('a child that exits 0 while a descendant holds its pipes: the exit is reported within seconds, with why, and the descendant ended', async () => {
    const t0 = Date.now();
    const c = spawnChild('sh', ['-c', 'sleep 3600 & echo $! >&2; echo out; exit 0'], { stdin: 'ignore' });
    let err = '';
    c.stderr.on('data', (b: Buffer) => (err += b.toString()));
    c.stdout.resume();
    const e = await c.exit;
    assert.equal(e.code, 0);
    assert.match(e.error ?? '', /its output was still held open 2 s after it exited/);
    assert.ok(Date.now() - t0 < 10_000, `${Date.now() - t0} ms`);
    assert.ok(await gone(Number(err.trim())), 'the holder survived');
  });

  it('kill() ends a child that ignores SIGTERM with SIGKILL after the grace, and everything it started', async () => {
    const c = spawnChild('sh', ['-c', "trap '' TERM; sleep 60 & echo $! >&2; wait"], { stdin: 'ignore' });
    let err = '';
    c.stderr.on('data', (b: Buffer) => (err += b.toString()));
    c.stdout.resume();
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    c.kill();
    const e = await c.exit;
    assert.equal(e.signal, 'SIGKILL');
    const took = Date.now() - t0;
    assert.ok(took >= KILL_GRACE_MS - 100 && took < KILL_GRACE_MS + 5000, `${took} ms`);
    assert.ok(await gone(Number(err.trim())), 'a process of the group survived');
  });

  it('a missing program is reported, not thrown; runChild bounds a command that never ends', async () => {
    const e = await spawnChild('igb-no-such-program', [], { stdin: 'ignore' }).exit;
    assert.match(e.error ?? '', /igb-no-such-program: command not found on PATH/);
    const r = await runChild('sleep', ['60'], 300);
    assert.match(r.error ?? '', /sleep did not finish within 0.3 s/);
  });
});

describe('watchLinger', () => {
  it('never counts a stream waiting on its consumer (paused, bytes buffered) as held; a silent flowing one is', async () => {
    const paused = new PassThrough();
    paused.write('x');
    let held = false;
    const stop = watchLinger([{ stream: paused, bytes: () => 1 }], () => (held = true), 500);
    await new Promise((r) => setTimeout(r, 900));
    stop();
    assert.equal(held, false);
    const silent = new PassThrough();
    silent.resume();
    const t0 = Date.now();
    await new Promise<void>((resolve) => watchLinger([{ stream: silent, bytes: () => 0 }], resolve, 500));
    assert.ok(Date.now() - t0 < 2000);
  });
});

describe('cancellation through the local transport', () => {
  it('ends the commands running when the run is cancelled, with its reason; a command started afterwards runs', async () => {
    const ac = new AbortController();
    const local = new LocalTransport(ac.signal);
    const pending = capture(local, { argv: ['sleep', '60'] });
    setTimeout(() => ac.abort(new CancelledError('cancelled by SIGTERM')), 100);
    await assert.rejects(pending, (err: unknown) => err instanceof CancelledError && /SIGTERM/.test(err.message));
    const after = await capture(local, { argv: ['sh', '-c', 'echo recovery'] });
    assert.equal(after.stdout.trim(), 'recovery');
  });
});

describe('notes on errors', () => {
  it('a note makes a copy of the same class whose message ends with it; the original is untouched', () => {
    const orig = new IntegrityError('sha256 differs', { hint: 'choose another backup' });
    const noted = withNote(withNote(orig, 'removed a (version 1)'), 'removed b');
    assert.ok(noted instanceof IntegrityError);
    assert.equal(noted.message, 'sha256 differs; removed a (version 1); removed b');
    assert.equal((noted as IntegrityError).hint, 'choose another backup');
    assert.deepEqual(notesOf(noted), ['removed a (version 1)', 'removed b']);
    assert.equal(orig.message, 'sha256 differs');
    assert.deepEqual(notesOf(orig), []);
  });
});

describe('capture with a timeout', () => {
  it('a command that never answers is killed at its timeout and reported as no answer; a quick one is untouched', async () => {
    const local = new LocalTransport();
    const t0 = performance.now();
    const r = await capture(local, { argv: ['sleep', '30'], timeoutMs: 300 });
    assert.ok(performance.now() - t0 < 10_000, `took ${Math.round(performance.now() - t0)} ms`);
    assert.equal(r.exitCode, undefined);
    assert.match(r.startError ?? '', /no answer within 0\.3 s \(killed\)/);
    const ok = await capture(local, { argv: ['echo', 'hi'], timeoutMs: 5000 });
    assert.equal(ok.exitCode, 0);
    assert.equal(ok.stdout.trim(), 'hi');
  });
});
