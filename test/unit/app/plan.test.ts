// The step runner: steps in order; on failure or cancel the completed ones undone in reverse; a typed error that keeps
// the cause and its exit code; a failed undo of a service named as that service being DOWN (exit 69). withCleanups:
// cleanups in reverse whatever happened, a failed one warned as FAILED, never thrown.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runPlan, withCleanups, type Step, type Undo } from '../../../src/app/plan.js';
import { silentReporter } from '../../../src/app/reporter.js';
import { CancelledError, IntegrityError, RecoveryError, ServiceDownError } from '../../../src/domain/errors.js';
import { exitCodeFor } from '../../../src/exit-codes.js';

function recorder() {
  const log: string[] = [];
  const step = (name: string, opts: { fail?: Error; undoFails?: boolean; service?: string } = {}): Step => ({
    name,
    run: async () => {
      log.push(`run ${name}`);
      if (opts.fail) throw opts.fail;
    },
    undo: {
      name: `undo ${name}`,
      run: async () => {
        log.push(`undo ${name}`);
        if (opts.undoFails) throw new Error(`cannot undo ${name}`);
      },
      manual: [`fix ${name}`],
      service: opts.service,
    },
  });
  return { log, step };
}

describe('runPlan', () => {
  it('runs every step in order and undoes nothing when all succeed', async () => {
    const { log, step } = recorder();
    await runPlan([step('a'), step('b'), step('c')], { reporter: silentReporter });
    assert.deepEqual(log, ['run a', 'run b', 'run c']);
  });

  it('undoes the completed steps in reverse, not the failed one nor the ones after it; keeps the cause and its exit code', async () => {
    const { log, step } = recorder();
    const cause = new IntegrityError('the new dump does not load');
    const err = await runPlan([step('a'), step('b'), step('c', { fail: cause }), step('d')], {
      reporter: silentReporter,
    }).then(
      () => assert.fail('no error'),
      (e: unknown) => e,
    );
    assert.deepEqual(log, ['run a', 'run b', 'run c', 'undo b', 'undo a']);
    assert.ok(err instanceof RecoveryError);
    assert.equal(err.cause, cause);
    assert.equal(err.step, 'c');
    assert.deepEqual(err.recovery, ['undo b: ok', 'undo a: ok']);
    assert.match(err.message, /^the new dump does not load\nrecovery: undo b: ok; undo a: ok$/);
    assert.equal(exitCodeFor(err), 3);
  });

  it('goes on undoing when one undo fails; a failed undo of a service is a ServiceDownError (exit 69) with the manual commands', async () => {
    const { log, step } = recorder();
    const err = await runPlan(
      [
        step('stop', { undoFails: true, service: 'Redis 127.0.0.1:6379' }),
        step('aside', { undoFails: true }),
        step('place', { fail: new Error('disk full') }),
      ],
      { reporter: silentReporter },
    ).then(
      () => assert.fail('no error'),
      (e: unknown) => e,
    );
    assert.deepEqual(log, ['run stop', 'run aside', 'run place', 'undo aside', 'undo stop']);
    assert.ok(err instanceof ServiceDownError);
    assert.equal(exitCodeFor(err), 69);
    assert.match(err.message.split('\n')[0] ?? '', /^Redis 127\.0\.0\.1:6379 is DOWN/);
    assert.match(err.message, /what failed first: disk full/);
    assert.match(err.message, /undo aside: FAILED \(cannot undo aside\); undo stop: FAILED \(cannot undo stop\)/);
    assert.deepEqual(err.commands, ['fix aside', 'fix stop']);
  });

  it('a step that fails saying its service must stay down stays a ServiceDownError (nothing would start it on half a change)', async () => {
    const { log, step } = recorder();
    const halfway = new ServiceDownError('Neo4j on db1', {
      cause: new Error('moving the entries aside failed midway'),
      commands: ['move them back'],
      recovery: ['the entries already moved are in /data/.igbackup-previous-x'],
    });
    const err = await runPlan([step('space'), step('aside', { fail: halfway })], { reporter: silentReporter }).then(
      () => assert.fail('no error'),
      (e: unknown) => e,
    );
    assert.deepEqual(log, ['run space', 'run aside', 'undo space']);
    assert.ok(err instanceof ServiceDownError);
    assert.equal(exitCodeFor(err), 69);
    assert.match(err.message, /what failed first: moving the entries aside failed midway/);
    assert.match(
      err.message,
      /recovery: the entries already moved are in \/data\/\.igbackup-previous-x; undo space: ok/,
    );
    assert.deepEqual(err.commands, ['move them back']);
  });

  it('a cancelled run starts no further step and undoes what it did', async () => {
    const { log, step } = recorder();
    const ac = new AbortController();
    const cancelAfterA: Step = {
      name: 'cancel',
      run: async () => ac.abort(new CancelledError('cancelled by SIGTERM')),
    };
    const err = await runPlan([step('a'), cancelAfterA, step('b')], {
      reporter: silentReporter,
      signal: ac.signal,
    }).then(
      () => assert.fail('no error'),
      (e: unknown) => e,
    );
    assert.deepEqual(log, ['run a', 'undo a']);
    assert.ok(err instanceof RecoveryError);
    assert.ok(err.cause instanceof CancelledError);
    assert.equal(exitCodeFor(err), 130);
  });
});

describe('withCleanups', () => {
  function cleanups() {
    const log: string[] = [];
    const warnings: string[] = [];
    const reporter = {
      ...silentReporter,
      step: (m: string) => log.push(`step ${m}`),
      warn: (m: string) => warnings.push(m),
    };
    const cleanup = (name: string, fails = false): Undo => ({
      name,
      run: async () => {
        log.push(`run ${name}`);
        if (fails) throw new Error(`cannot ${name}\nsecond line`);
      },
      manual: [`fix ${name}`],
    });
    return { log, warnings, reporter, cleanup };
  }

  it('runs the registered cleanups in reverse after a successful work, returns its result, warns nothing', async () => {
    const { log, warnings, reporter, cleanup } = cleanups();
    const result = await withCleanups('drill', { reporter }, async (defer) => {
      defer(cleanup('a'));
      defer(cleanup('b'));
      log.push('work');
      return 42;
    });
    assert.equal(result, 42);
    assert.deepEqual(log, ['work', 'step drill: b', 'run b', 'step drill: a', 'run a']);
    assert.deepEqual(warnings, []);
  });

  it("after a failed work runs only the cleanups registered so far, then throws the work's own error", async () => {
    const { log, reporter, cleanup } = cleanups();
    const err = await withCleanups('drill', { reporter }, async (defer) => {
      defer(cleanup('a'));
      throw new Error('apply failed');
    }).then(
      () => assert.fail('no error'),
      (e: unknown) => e,
    );
    assert.equal((err as Error).message, 'apply failed');
    assert.deepEqual(log, ['step drill: a', 'run a']);
  });

  it('a failed cleanup does not stop the others nor hide the result: one warning lists each as ok or FAILED', async () => {
    const { log, warnings, reporter, cleanup } = cleanups();
    const result = await withCleanups('drill', { reporter }, async (defer) => {
      defer(cleanup('a'));
      defer(cleanup('b', true));
      return 'report';
    });
    assert.equal(result, 'report');
    assert.deepEqual(log, ['step drill: b', 'run b', 'step drill: a', 'run a']);
    assert.deepEqual(warnings, ['drill: cleanup: b: FAILED (cannot b); a: ok; finish it by hand: fix b']);
  });
});
