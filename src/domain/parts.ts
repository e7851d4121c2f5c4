// Multipart sizing: a part size that lets an estimated artifact fit in S3's 10,000 parts with headroom.

export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;
export const TiB = 1024 * GiB;
export const MAX_PARTS = 10_000;
const MIN_PART = 5 * MiB;
const MAX_PART = 5 * GiB;
/** Floor used for every upload: large enough for good throughput, small enough to keep memory flat. */
export const DEFAULT_MIN_PART = 8 * MiB;
/** When no estimate exists, size parts for this much data (1 TiB needs >= 105 MiB parts). */
export const UNKNOWN_SIZE_ASSUMPTION = TiB;
/** Headroom over the estimate: a dump may outgrow the database size estimate. */
export const ESTIMATE_HEADROOM = 3;

/**
 * Picks a part size (bytes, MiB-aligned) so that estimate x headroom fits in MAX_PARTS parts.
 * estimate undefined means "unknown": size for UNKNOWN_SIZE_ASSUMPTION.
 */
export function choosePartSize(estimateBytes: number | undefined, minPart = DEFAULT_MIN_PART): number {
  const planned =
    estimateBytes === undefined || !Number.isFinite(estimateBytes) || estimateBytes <= 0
      ? UNKNOWN_SIZE_ASSUMPTION
      : estimateBytes * ESTIMATE_HEADROOM;
  const needed = Math.ceil(planned / MAX_PARTS);
  const size = Math.max(minPart, MIN_PART, Math.ceil(needed / MiB) * MiB);
  return Math.min(size, MAX_PART);
}

/** The largest artifact a given part size can carry. */
export function maxObjectSize(partSize: number): number {
  return partSize * MAX_PARTS;
}
