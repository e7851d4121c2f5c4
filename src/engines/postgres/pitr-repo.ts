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

/** What initdb --wal-segsize allows: powers of two from 1 MiB to 1 GiB. */
const VALID_SEGMENT_SIZES = Array.from({ length: 11 }, (_, i) => 2 ** (20 + i));

/**
 * The WAL segments missing between `from` and `to` (inclusive), from the names `pgbackrest repo-ls` lists under the
 * archive: a restore to any moment past the first one stops there. Which timeline each position must be on follows
 * the target timeline's history file (`history`: the text of `<to's timeline>.history`; none on timeline 1): before a
 * switch point the parent's, from the switch point's segment on the child's (the parent keeps that one only as a
 * .partial). So an abandoned timeline's later segments never stand in for the current one's, and a missing first
 * segment of a timeline is found. `segmentBytes` is the cluster's WAL segment size (wal_segment_size; 16 MiB unless
 * initdb was told otherwise); names with a higher segment number than it allows win over it. Returns at most `limit`
 * missing segments (named on the timeline that must hold them) and how many are missing in all.
 */
export function walGaps(
  names: string[],
  from: string,
  to: string,
  history = '',
  segmentBytes = 16 * 1024 * 1024,
  limit = 10,
): { missing: string[]; count: number } {
  const valid = (w: string): boolean => /^[0-9A-F]{24}$/.test(w);
  if (!valid(from) || !valid(to)) return { missing: [], count: 0 };
  const stored = names.map((n) => STORED_SEGMENT.exec(n)?.[1]).filter((n): n is string => n !== undefined);
  const seg = (w: string): bigint => BigInt(`0x${w.slice(16, 24)}`);
  const size = VALID_SEGMENT_SIZES.includes(segmentBytes) ? segmentBytes : 16 * 1024 * 1024;
  let perLog = 0x100000000n / BigInt(size);
  for (const w of [...stored, from, to]) while (perLog <= seg(w)) perLog *= 2n;
  const at = (w: string): bigint => BigInt(`0x${w.slice(8, 16)}`) * perLog + seg(w);
  const hex = (v: bigint): string => v.toString(16).toUpperCase().padStart(8, '0');
  const have = new Set(stored.map((w) => `${w.slice(0, 8)}:${at(w)}`));
  const switches = historySwitches(history, 0x100000000n / perLog, perLog);
  const timelineAt = (n: bigint): string => switches.find((s) => n < s.at)?.timeline ?? to.slice(0, 8);
  const missing: string[] = [];
  let count = 0;
  for (let n = at(from); n <= at(to); n++) {
    const tl = timelineAt(n);
    if (have.has(`${tl}:${n}`)) continue;
    count++;
    if (missing.length < limit) missing.push(`${tl}${hex(n / perLog)}${hex(n % perLog)}`);
  }
  return { missing, count };
}

/**
 * A timeline history file's switch points, oldest first: "<parent timeline> <switch LSN hi/lo> <reason>" per line;
 * each as the parent's timeline (8 hex) and the position of the segment the switch is in.
 */
function historySwitches(text: string, segmentBytes: bigint, perLog: bigint): { timeline: string; at: bigint }[] {
  const out: { timeline: string; at: bigint }[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})\b/.exec(line);
    if (!m) continue;
    const tl = Number(m[1]).toString(16).toUpperCase().padStart(8, '0');
    out.push({ timeline: tl, at: BigInt(`0x${m[2]}`) * perLog + BigInt(`0x${m[3]}`) / segmentBytes });
  }
  return out;
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
