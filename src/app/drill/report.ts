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

export function finish(
  ctx: AppContext,
  h: EnvHandle,
  base: Omit<DrillReport, 'finishedAt' | 'rtoSeconds' | 'rtoTargetSeconds' | 'rtoMet' | 'ok' | 'schema'>,
  t0: number,
): DrillReport {
  const tier = h.env.tier ? ctx.config.tiers[h.env.tier] : undefined;
  const rtoSeconds = Math.round((performance.now() - t0) / 100) / 10;
  const rtoTargetSeconds = tier ? tier.rtoMinutes * 60 : undefined;
  const rtoMet = rtoTargetSeconds === undefined ? undefined : rtoSeconds <= rtoTargetSeconds;
  const ok = !base.error && base.checks.every((c) => c.ok) && rtoMet !== false;
  return {
    schema: DRILL_SCHEMA,
    ...base,
    finishedAt: ctx.now().toISOString(),
    rtoSeconds,
    rtoTargetSeconds,
    rtoMet,
    ok,
  };
}
