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
export function choosePartSize(
  estimateBytes: number | undefined,
  minPart = DEFAULT_MIN_PART,
  maxPart = MAX_PART,
): number {
  const planned =
    estimateBytes === undefined || !Number.isFinite(estimateBytes) || estimateBytes <= 0
      ? UNKNOWN_SIZE_ASSUMPTION
      : estimateBytes * ESTIMATE_HEADROOM;
  const needed = Math.ceil(planned / MAX_PARTS);
  const size = Math.max(minPart, MIN_PART, Math.ceil(needed / MiB) * MiB);
  return Math.min(size, maxPart, MAX_PART);
}

/**
 * The largest part size a memory budget allows: an upload holds `queueSize` parts in flight, the one being filled,
 * and copies the garbage collector has not freed yet (measured by bench/memory: about queueSize + 1.5 parts), so the
 * budget counts queueSize + 2 parts (MiB-aligned, never below S3's 5 MiB minimum).
 */
export function partCap(budgetBytes: number, queueSize: number): number {
  return Math.max(MIN_PART, Math.floor(budgetBytes / (queueSize + 2) / MiB) * MiB);
}

/** The largest artifact a given part size can carry. */
export function maxObjectSize(partSize: number): number {
  return partSize * MAX_PARTS;
}

/** How an S3 store sizes one upload (pure): the part size, and the most one object may carry before segments. */
export function uploadSizing(
  cfg: { minPartSizeMiB: number; memoryBudgetMiB: number; queueSize: number; segmentMiB?: number | undefined },
  estimateBytes: number | undefined,
): { partSize: number; maxPutBytes: number } {
  const partSize = choosePartSize(
    estimateBytes,
    cfg.minPartSizeMiB * MiB,
    partCap(cfg.memoryBudgetMiB * MiB, cfg.queueSize),
  );
  const parts = maxObjectSize(partSize);
  return { partSize, maxPutBytes: cfg.segmentMiB === undefined ? parts : Math.min(parts, cfg.segmentMiB * MiB) };
}

/**
 * The most segments one artifact may have: its manifest lists each (~250 bytes) and readers refuse manifests over
 * 1 MiB. Only a tiny storage.segmentMiB reaches it (at S3's own limit it is petabytes).
 */
export const MAX_SEGMENTS = 3000;
