// The documented ranges of numeric settings, shared by the command-line flags and the config file (pure).

export interface Range {
  min: number;
  max: number;
}

/**
 * One range per setting that exists both as a flag and in the config, so both refuse the same values.
 * restoreJobs: pg_restore opens one connection per job (64 is already far past what a server's cores use);
 * waitMinutes: an archive retrieval keeps its copy for 3 days, longer waits make no sense;
 * keepLast/keepDays: retention counts and ages (100 years at most); port: a TCP port.
 */
export const LIMITS = {
  restoreJobs: { min: 1, max: 64 },
  waitMinutes: { min: 1, max: 4320 },
  keepLast: { min: 1, max: 10_000 },
  keepDays: { min: 0, max: 36_500 },
  port: { min: 1, max: 65_535 },
} as const satisfies Record<string, Range>;

/**
 * Parses a whole number written in decimal digits only (no sign, exponent, hex, fraction or spaces) within a range;
 * returns the number or the reason it was refused.
 */
export function parseBoundedInt(
  text: string,
  range: Range,
): { ok: true; value: number } | { ok: false; reason: string } {
  const span = `a whole number from ${range.min} to ${range.max}`;
  if (!/^[0-9]{1,12}$/.test(text))
    return { ok: false, reason: `expected ${span}, in decimal digits only; got "${text}"` };
  const value = Number(text);
  if (value < range.min || value > range.max) return { ok: false, reason: `expected ${span}; got ${value}` };
  return { ok: true, value };
}

/** Whether a number as written in a config file uses plain decimal notation (digits, an optional "-" and fraction). */
export function isPlainDecimal(source: string): boolean {
  return /^-?[0-9]+(\.[0-9]+)?$/.test(source);
}
