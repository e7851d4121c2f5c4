// What pgBackRest's repository and output say, judged (pure): a refusal by the bucket, the damage `verify` reports, and
// the WAL segments missing from the archive's listing.

/**
 * Why the bucket refused pgBackRest, from its output, as a sentence (undefined: not a refusal). pgBackRest prints the
 * raw HTTP exchange (with the credentials redacted); an operator needs the reason and where to look.
 */
export function repoRefusal(output: string): { what: string; hint: string } | undefined {
  if (/\b403\b|AccessDenied|InvalidAccessKeyId|SignatureDoesNotMatch/.test(output)) {
    const code = /<Code>(\w+)<\/Code>/.exec(output)?.[1];
    return {
      what: `the bucket refused pgBackRest's request (HTTP 403${code ? ` ${code}` : ''})`,
      hint: 'check postgres.pitr.s3Credentials (or the instance role), the bucket policy, and kms:GenerateDataKey/kms:Decrypt on the env key',
    };
  }
  if (/unable to verify certificate|certificate verify failed|\[0?95\]|TLS error/i.test(output)) {
    return {
      what: "pgBackRest could not verify the bucket endpoint's TLS certificate",
      hint: 'set storage.caFile to the CA that signed the endpoint, then run igbackup pitr enable again (it copies the CA to the host)',
    };
  }
  return undefined;
}

/** A WAL file stored in the repository: `<24 hex>-<sha1>[.ext]` (not .history, .backup or .partial files). */
const STORED_SEGMENT = /(?:^|\/)([0-9A-F]{24})-[0-9a-f]{40}(?:\.[a-z0-9]+)?$/;

/**
 * The WAL segments missing between `from` and `to` (inclusive), from the names `pgbackrest repo-ls` lists under the
 * archive: a restore to any moment past the first one stops there. Two rules, so that a promotion's timelines cannot
 * hide a gap: each timeline's segments are contiguous from its first to its last (a segment that a newer timeline
 * needs is never stood in for by the abandoned one's), and every position in the range is on some timeline (none lost
 * between a timeline's end and the next one's start). Segments per log file follow from the segment size (2^32 /
 * size), which the names show: the highest segment seen, rounded up to a power of two (16 MiB segments: 256).
 * Returns at most `limit` missing segments (named on the timeline that lacks them) and how many are missing in all.
 */
export function walGaps(names: string[], from: string, to: string, limit = 10): { missing: string[]; count: number } {
  const valid = (w: string): boolean => /^[0-9A-F]{24}$/.test(w);
  if (!valid(from) || !valid(to)) return { missing: [], count: 0 };
  const stored = names.map((n) => STORED_SEGMENT.exec(n)?.[1]).filter((n): n is string => n !== undefined);
  const seg = (w: string): bigint => BigInt(`0x${w.slice(16, 24)}`);
  let perLog = 1n;
  for (const w of [...stored, from, to]) while (perLog <= seg(w)) perLog *= 2n;
  const at = (w: string): bigint => BigInt(`0x${w.slice(8, 16)}`) * perLog + seg(w);
  const hex = (v: bigint): string => v.toString(16).toUpperCase().padStart(8, '0');
  const name = (tl: string, n: bigint): string => `${tl}${hex(n / perLog)}${hex(n % perLog)}`;
  const [lo, hi] = [at(from), at(to)];
  const byTimeline = new Map<string, Set<bigint>>();
  for (const w of stored) {
    const tl = w.slice(0, 8);
    byTimeline.set(tl, (byTimeline.get(tl) ?? new Set()).add(at(w)));
  }
  const lacking = new Map<bigint, string>();
  for (const [tl, have] of [...byTimeline].sort(([a], [b]) => a.localeCompare(b))) {
    const first = [...have].reduce((a, b) => (a < b ? a : b));
    const last = [...have].reduce((a, b) => (a > b ? a : b));
    for (let n = first > lo ? first : lo; n <= (last < hi ? last : hi); n++) {
      if (!have.has(n) && !lacking.has(n)) lacking.set(n, name(tl, n));
    }
  }
  const tlOf = to.slice(0, 8);
  for (let n = lo; n <= hi; n++) {
    if (![...byTimeline.values()].some((have) => have.has(n)) && !lacking.has(n)) lacking.set(n, name(tlOf, n));
  }
  const missing = [...lacking].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, w]) => w);
  return { missing: missing.slice(0, limit), count: missing.length };
}

/**
 * What `pgbackrest verify` (info level) says is damaged, as a short text; undefined when it found nothing. Its summary
 * is "stanza: S / status: error / backup: L, status: invalid, … / checksum invalid: N" (2.45 exits 0 all the same).
 */
export function verifyDamage(output: string): string | undefined {
  const lines = output.split('\n').map((l) => l.replace(/^\S+ \S+ P\d+ +\w+: /, '').trim());
  const bad = lines.filter((l) =>
    /status: (error|invalid)|checksum invalid:|missing:|size invalid:|other:|invalid checksum|missing file/i.test(l),
  );
  if (!bad.length) return undefined;
  const summary = bad.filter((l) => !/^invalid checksum '/.test(l));
  const files = bad.length - summary.length;
  return [...summary, ...(files ? [`${files} file(s) with an invalid checksum`] : [])].join('\n');
}
