// What a drill reports: the checks, the RTO against the tier's target, and the error if any; the options it takes.

import { IgbackupError } from '../../domain/errors.js';
import type { AppContext, EnvHandle } from '../context.js';

export const DRILL_SCHEMA = 'igbackup.drill/v1';

export interface DrillCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface DrillReport {
  schema: typeof DRILL_SCHEMA;
  env: string;
  engine: string;
  database: string;
  key: string;
  target: string;
  startedAt: string;
  finishedAt: string;
  rtoSeconds: number;
  rtoTargetSeconds?: number | undefined;
  rtoMet?: boolean | undefined;
  checks: DrillCheck[];
  ok: boolean;
  kept: boolean;
  error?: string | undefined;
  /** The RPO the restored data proves: its newest heartbeat against the moment restored to (or the backup's end). */
  achievedRpoSeconds?: number | undefined;
}

export interface DrillOptions {
  env: string;
  engine: string;
  from?: string | undefined;
  latest?: boolean | undefined;
  database?: string | undefined;
  keep: boolean;
  /** Remove another drill's lock of the engine first (only when that run is dead). */
  forceUnlock?: boolean | undefined;
}

/** An error as a drill report states it: the message and, when igbackup knows one, what to do about it. */
export function errorText(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return err instanceof IgbackupError && err.hint ? `${message} (${err.hint})` : message;
}

/** What a drill is of and when it started (its RTO counts from `t0`). */
export interface DrillSubject {
  engine: string;
  database: string;
  key: string;
  kept: boolean;
  started: Date;
  t0: number;
}

export function drillSubject(
  ctx: AppContext,
  s: { engine: string; database: string; key: string; keep: boolean },
  clock: { started: Date; t0: number } = { started: ctx.now(), t0: performance.now() },
): DrillSubject {
  return { engine: s.engine, database: s.database, key: s.key, kept: s.keep, ...clock };
}

/** The report of a drill of `s` that ended now: the RTO against the env's tier, ok only when every check passed. */
export function finish(
  ctx: AppContext,
  h: EnvHandle,
  s: DrillSubject,
  outcome: { target: string; checks: DrillCheck[]; error?: string | undefined },
): DrillReport {
  const tier = h.env.tier ? ctx.config.tiers[h.env.tier] : undefined;
  const rtoSeconds = Math.round((performance.now() - s.t0) / 100) / 10;
  const rtoTargetSeconds = tier ? tier.rtoMinutes * 60 : undefined;
  const rtoMet = rtoTargetSeconds === undefined ? undefined : rtoSeconds <= rtoTargetSeconds;
  const ok = !outcome.error && outcome.checks.every((c) => c.ok) && rtoMet !== false;
  return {
    schema: DRILL_SCHEMA,
    env: h.name,
    engine: s.engine,
    database: s.database,
    key: s.key,
    target: outcome.target,
    startedAt: s.started.toISOString(),
    finishedAt: ctx.now().toISOString(),
    rtoSeconds,
    rtoTargetSeconds,
    rtoMet,
    checks: outcome.checks,
    ok,
    kept: s.kept,
    error: outcome.error,
  };
}
