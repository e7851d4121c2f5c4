// Flag value parsers that turn bad input into clear usage errors.

import { InvalidArgumentError } from 'commander';
import { COMPRESSIONS, isCompression, type Compression } from '../domain/compression.js';
import { LIMITS, parseBoundedInt, type Range } from '../domain/limits.js';

export function parseCompression(value: string): Compression {
  if (!isCompression(value)) throw new InvalidArgumentError(`use one of: ${COMPRESSIONS.join(', ')}`);
  return value;
}

/** A commander value parser for a whole number in decimal digits within `range` (else a usage error, exit 2). */
export function boundedInt(range: Range): (value: string) => number {
  return (value) => {
    const r = parseBoundedInt(value, range);
    if (!r.ok) throw new InvalidArgumentError(r.reason);
    return r.value;
  };
}

/** "(1-64)": the range as shown in a flag's help. */
export function rangeText(range: Range): string {
  return `(${range.min}-${range.max})`;
}

export { LIMITS };

/** A TCP port (1-65535). */
export const parsePort = boundedInt(LIMITS.port);

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
