// Flag value parsers that turn bad input into clear usage errors.

import { InvalidArgumentError, Option, type Command } from 'commander';
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

/** Adds the archive flags restore and verify share (--wait, --restore-tier, --wait-timeout) to a command. */
export function archiveFlags(c: Command): Command {
  return c
    .option('--wait', 'if the backup is archived (GLACIER/DEEP_ARCHIVE), wait for the S3 restore instead of exiting 75')
    .addOption(
      new Option('--restore-tier <tier>', 'S3 retrieval tier for archived backups')
        .choices(RESTORE_TIERS)
        .default('Standard'),
    )
    .option(
      '--wait-timeout <minutes>',
      `give up waiting after this long ${rangeText(LIMITS.waitMinutes)}, default 720`,
      boundedInt(LIMITS.waitMinutes),
    );
}

/** The archive flags shared by restore and verify, as the use cases take them. */
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
