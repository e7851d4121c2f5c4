// Whether a schedule and a method can meet the tier's RPO target (pure), and a schedule's longest gap (cron-parser).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { longestGapSeconds } from '../../../src/config/cron.js';
import { tierFit } from '../../../src/domain/tier-fit.js';

const from = new Date('2026-11-27T10:17:00Z');

describe('tier fit', () => {
  it('longest gap: every 5 minutes, hourly, daily, weekdays only (the weekend gap), yearly', () => {
    assert.equal(longestGapSeconds('*/5 * * * *', from), 300);
    assert.equal(longestGapSeconds('@hourly', from), 3600);
    assert.equal(longestGapSeconds('0 3 * * *', from), 86_400);
    assert.equal(longestGapSeconds('0 3 * * 1-5', from), 3 * 86_400);
    assert.ok(longestGapSeconds('@yearly', from) >= 365 * 86_400);
  });

  it('a schedule within the target is ok; too sparse is a fail with the interval that meets it', () => {
    const base = { engine: 'postgres' as const, env: 'prod', rpoTargetSec: 3600 };
    assert.equal(tierFit({ ...base, cron: '*/15 * * * *', gapSec: 900, lastDurationSec: 120 }).status, 'ok');
    const sparse = tierFit({ ...base, cron: '0 3 * * *', gapSec: 86_400, lastDurationSec: 600 });
    assert.equal(sparse.status, 'fail');
    assert.match(
      sparse.detail,
      /leaves up to 1 d between backups \(plus 10 min per backup\): more than the 1 h RPO target/,
    );
    assert.match(sparse.fix ?? '', /every 50 min .*point-in-time recovery/);
    // The duration counts: a 50-minute gap and a 15-minute backup miss an hour.
    assert.equal(tierFit({ ...base, cron: '*/50 * * * *', gapSec: 3000, lastDurationSec: 900 }).status, 'fail');
  });

  it('PITR makes the dump schedule irrelevant; no schedule is a warning; no tier is ok', () => {
    const gold = { engine: 'postgres' as const, env: 'prod', rpoTargetSec: 300 };
    assert.equal(tierFit({ ...gold, cron: '0 3 * * *', gapSec: 86_400, pitr: true }).status, 'ok');
    assert.equal(tierFit({ ...gold, cron: undefined, gapSec: undefined }).status, 'warn');
    assert.equal(tierFit({ ...gold, rpoTargetSec: undefined, cron: undefined, gapSec: undefined }).status, 'ok');
  });

  it('Redis at a tight tier: ok only from a replica with the heartbeat scheduled; otherwise a warning naming both fixes', () => {
    const r = { engine: 'redis' as const, env: 'prod', rpoTargetSec: 300, cron: '* * * * *', gapSec: 60 };
    assert.equal(tierFit({ ...r, replica: true, heartbeat: true }).status, 'ok');
    const primary = tierFit({ ...r, replica: false, heartbeat: false });
    assert.equal(primary.status, 'warn');
    assert.match(primary.detail, /every backup forks the primary .* and nothing measures the RPO in the data itself/);
    assert.match(primary.fix ?? '', /redis\.replica.*schedule\.redisHeartbeat/);
    assert.match(tierFit({ ...r, replica: true, heartbeat: false }).fix ?? '', /^schedule\.redisHeartbeat/);
    // A loose tier does not warn: a fork an hour is what Redis's own save policy does.
    assert.equal(tierFit({ ...r, rpoTargetSec: 86_400, cron: '0 * * * *', gapSec: 3600 }).status, 'ok');
  });

  it('Neo4j Community: the RPO is the dump interval and each dump stops the database, said even when it fits', () => {
    const x = { engine: 'neo4j' as const, env: 'prod', rpoTargetSec: 300, edition: 'community' as const };
    const fits = tierFit({ ...x, cron: '*/5 * * * *', gapSec: 300 });
    assert.equal(fits.status, 'warn');
    assert.match(fits.detail, /each dump stops the database/);
    assert.equal(tierFit({ ...x, cron: '@hourly', gapSec: 3600 }).status, 'fail');
    assert.equal(tierFit({ ...x, edition: 'enterprise', cron: '*/5 * * * *', gapSec: 300 }).status, 'ok');
  });
});
