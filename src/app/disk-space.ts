// "No space left on device" while downloading into a temp dir: an error naming the directory, the space needed
// and what else the operator can do.

import { statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { ConfigError, IgbackupError } from '../domain/errors.js';
import { checkTmpDir } from '../pipeline/restore-stream.js';
import { formatBytes } from '../domain/human.js';

export interface SpaceNeed {
  /** The directory the operator chose (--tmp-dir), or undefined for the OS default. */
  base: string | undefined;
  /** The private workspace inside it. */
  dir: string;
  neededBytes: number;
  /** What has to fit, e.g. "the decompressed archive (for pg_restore --jobs 4)". */
  what: string;
  /** Other ways out besides another directory. */
  alternatives: string[];
}

/** Whether err, or anything in its cause chain, is ENOSPC (or EDQUOT: a quota is full). */
export function isNoSpace(err: unknown): boolean {
  let cur: unknown = err;
  for (let depth = 0; cur && typeof cur === 'object' && depth < 6; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') return true;
    cur = (cur as { cause?: unknown }).cause;
  }
  return false;
}

/** The error to report for a failed download: err itself, unless the disk was full. */
export async function explainNoSpace(err: unknown, need: SpaceNeed): Promise<unknown> {
  if (!isNoSpace(err)) return err;
  const base = need.base ?? tmpdir();
  const free = await statfs(base).then(
    (s) => ` (${formatBytes(s.bavail * s.bsize)} free there now)`,
    () => '',
  );
  return new IgbackupError(
    `no space left in ${base} while downloading into ${need.dir}: about ${formatBytes(need.neededBytes)} is needed for ${need.what}${free}; the partial download was removed`,
    { cause: err, hint: spaceHint(need) },
  );
}

/** What the operator can do when a download does not fit: another --tmp-dir, or the need's alternatives. */
function spaceHint(need: Pick<SpaceNeed, 'base' | 'neededBytes' | 'alternatives'>): string {
  const ways = [
    `point --tmp-dir at a directory with at least ${formatBytes(need.neededBytes)} free${need.base ? '' : ' (or set TMPDIR)'}`,
    ...need.alternatives,
  ];
  return ways.join('; or ');
}

/**
 * Preflight (pure): the ConfigError to throw when `freeBytes` in the temp dir cannot hold the download, before it
 * starts (so no multi-GB download is wasted), or undefined when it fits.
 */
export function spaceShortage(freeBytes: number, need: Omit<SpaceNeed, 'dir'>): ConfigError | undefined {
  if (freeBytes >= need.neededBytes) return undefined;
  const base = need.base ?? tmpdir();
  return new ConfigError(
    `not enough space in ${base} for ${need.what}: ${formatBytes(need.neededBytes)} needed, ${formatBytes(freeBytes)} free; nothing was downloaded`,
    [],
    { hint: spaceHint(need) },
  );
}

/** Bytes an unprivileged process may still write in dir (statfs: available blocks × block size). */
export async function freeBytes(dir: string | undefined): Promise<number> {
  if (dir !== undefined) await checkTmpDir(dir);
  const s = await statfs(dir ?? tmpdir());
  return s.bavail * s.bsize;
}
