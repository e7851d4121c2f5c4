// Numeric flags and settings: decimal digits only, within one documented range shared by flags and config.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { boundedInt } from '../../../src/cli/parse.js';
import { LIMITS, isPlainDecimal, parseBoundedInt } from '../../../src/domain/limits.js';

describe('bounded whole numbers', () => {
  it('accepts decimal digits within the range', () => {
    assert.deepEqual(parseBoundedInt('1', LIMITS.restoreJobs), { ok: true, value: 1 });
    assert.deepEqual(parseBoundedInt('64', LIMITS.restoreJobs), { ok: true, value: 64 });
    assert.deepEqual(parseBoundedInt('0', LIMITS.keepDays), { ok: true, value: 0 });
  });

  it('refuses other notations, signs, spaces, fractions and values out of range, saying the range', () => {
    for (const text of ['1e3', '0x10', '0o7', '1.5', ' 2', '2 ', '+2', '-1', '', '2_0', 'Infinity', '1'.repeat(20)]) {
      const r = parseBoundedInt(text, LIMITS.restoreJobs);
      assert.equal(r.ok, false, text);
      assert.match(r.ok ? '' : r.reason, /^expected a whole number from 1 to 64, in decimal digits only; got "/, text);
    }
    for (const text of ['0', '65', '100000']) {
      const r = parseBoundedInt(text, LIMITS.restoreJobs);
      assert.equal(r.ok ? '' : r.reason, `expected a whole number from 1 to 64; got ${Number(text)}`);
    }
  });

  it('the commander parser turns a refusal into a usage error (exit 2)', () => {
    assert.equal(boundedInt(LIMITS.keepLast)('7'), 7);
    assert.throws(() => boundedInt(LIMITS.keepLast)('1e3'), InvalidArgumentError);
  });

  it('config numbers must be written in plain decimal', () => {
    for (const ok of ['0', '12', '-3', '1.5']) assert.ok(isPlainDecimal(ok), ok);
    for (const bad of ['1e3', '0x10', '0o17', '+4', '.inf', '.5', '1_000']) assert.ok(!isPlainDecimal(bad), bad);
  });
});
