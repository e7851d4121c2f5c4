// Flag value parsers that turn bad input into clear usage errors.

import { InvalidArgumentError } from 'commander';
import { COMPRESSIONS, isCompression, type Compression } from '../domain/compression.js';

export function parseCompression(value: string): Compression {
  if (!isCompression(value)) throw new InvalidArgumentError(`use one of: ${COMPRESSIONS.join(', ')}`);
  return value;
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number >= 1');
  return n;
}

export function parseNonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number >= 0');
  return n;
}

export const RESTORE_TIERS = ['Expedited', 'Standard', 'Bulk'] as const;

/** The archive flags shared by restore and verify. */
export function archiveOptions(flags: { wait?: boolean; restoreTier?: string; waitTimeout?: number }): {
  wait: boolean;
  tier: (typeof RESTORE_TIERS)[number];
  days: number;
  timeoutMs: number;
  pollMs: number;
} {
  return {
    wait: Boolean(flags.wait),
    tier: (flags.restoreTier as (typeof RESTORE_TIERS)[number] | undefined) ?? 'Standard',
    days: 3,
    timeoutMs: (flags.waitTimeout ?? 720) * 60_000,
    pollMs: 60_000,
  };
}
