// Retention selection is pure: per database, by manifest time, newest always kept.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { selectRetention } from '../../../src/domain/retention.js';

const now = new Date('2026-11-24T12:00:00Z');
const b = (key: string, database: string, daysAgo: number, engine = 'postgres') => ({
  key,
  engine,
  database,
  finishedAt: new Date(now.getTime() - daysAgo * 86_400_000).toISOString(),
});

describe('selectRetention', () => {
  it('keeps the last N or anything younger than D days, per engine and database', () => {
    const items = [
      b('a1', 'a', 1),
      b('a2', 'a', 10),
      b('a3', 'a', 20),
      b('a4', 'a', 30),
      b('b1', 'b', 50),
      b('r1', 'a', 90, 'redis'),
    ];
    const d = selectRetention(items, { keepLast: 2, keepDays: 15 }, now);
    assert.deepEqual(
      d.remove.map((x) => [x.item.key, x.why]),
      [
        ['a3', 'older than 15 days and not within the last 2'],
        ['a4', 'older than 15 days and not within the last 2'],
      ],
    );
    assert.deepEqual(
      d.keep.map((x) => [x.item.key, x.why]),
      [
        ['a1', 'newest complete backup'],
        ['a2', 'within the last 2'],
        ['b1', 'newest complete backup'],
        ['r1', 'newest complete backup'],
      ],
    );
  });

  it('never removes the newest, whatever the policy', () => {
    const d = selectRetention([b('x', 'a', 400), b('y', 'a', 500)], { keepLast: 1, keepDays: 0 }, now);
    assert.deepEqual(
      d.keep.map((k) => k.item.key),
      ['x'],
    );
    assert.deepEqual(
      d.remove.map((k) => k.item.key),
      ['y'],
    );
  });
});
