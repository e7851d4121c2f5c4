// The remote wrapper for SSH and kubectl: POSIX-sh script (dash, busybox) that takes env from a stdin header,
// runs the argv, and reports rc + byte count + sha256 of the stream it produced or consumed as a stderr trailer.

import { IntegrityError, ConfigError } from '../domain/errors.js';

export const TRAILER_MARK = 'IGBACKUP-TRAILER/1';
const HEADER_END = '--';
const REQUIRED_TOOLS = 'mkfifo mktemp tee sha256sum wc cat cut tr rm';

const PRELUDE = [
  `for igb_t in ${REQUIRED_TOOLS}; do`,
  `  command -v "$igb_t" >/dev/null 2>&1 || { echo "igbackup: '$igb_t' is missing on the remote side (needed for the integrity trailer)" >&2; exit 127; }`,
  'done',
  'while IFS= read -r igb_l; do',
  `  [ "$igb_l" = "${HEADER_END}" ] && break`,
  '  export "${igb_l%%=*}=${igb_l#*=}"',
  'done',
  'igb_d=$(mktemp -d) || exit 125',
  `trap 'rm -rf "$igb_d"' EXIT`,
  'mkfifo "$igb_d/h" "$igb_d/c" || exit 125',
  'sha256sum < "$igb_d/h" > "$igb_d/s" &',
  'wc -c < "$igb_d/c" > "$igb_d/n" &',
];

const EPILOGUE = [
  'wait',
  'igb_rc=$(cat "$igb_d/rc" 2>/dev/null || echo 255)',
  `printf '\\n${TRAILER_MARK} rc=%s bytes=%s sha256=%s\\n' "$igb_rc" "$(tr -d ' \\n' < "$igb_d/n")" "$(cut -d' ' -f1 < "$igb_d/s")" >&2`,
  'exit "$igb_rc"',
];

/**
 * The wrapper script. "out": the command's stdout is the stream (backups); its stdin is /dev/null.
 * "in": stdin (after the header) is the stream fed to the command (restores, SQL). No pipefail needed:
 * the command's own exit status is written to a file inside the pipeline.
 */
export function wrapperScript(direction: 'out' | 'in'): string {
  const run =
    direction === 'out'
      ? '{ "$@" < /dev/null; echo $? > "$igb_d/rc"; } | tee "$igb_d/h" "$igb_d/c"'
      : 'tee "$igb_d/h" "$igb_d/c" | { "$@"; echo $? > "$igb_d/rc"; }';
  return [...PRELUDE, run, ...EPILOGUE].join('\n');
}

/** argv that runs `argv` inside the wrapper with /bin/sh: sh -c SCRIPT igbackup ARGV... */
export function wrappedArgv(argv: string[], direction: 'out' | 'in'): string[] {
  return ['sh', '-c', wrapperScript(direction), 'igbackup', ...argv];
}

/** The stdin header: NAME=value lines, then "--". Values travel here, never in argv. */
export function envHeader(env: Record<string, string> | undefined): string {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new ConfigError(`invalid environment variable name "${name}"`);
    if (/[\r\n\0]/.test(value)) {
      throw new ConfigError(
        `the value of ${name} contains a line break or NUL, which cannot be passed to a remote command`,
      );
    }
    lines.push(`${name}=${value}`);
  }
  lines.push(HEADER_END);
  return `${lines.join('\n')}\n`;
}

/** Quotes one word for a POSIX shell: 'it'\''s' — every byte literal, nothing expanded. */
export function shQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function shJoin(argv: string[]): string {
  return argv.map(shQuote).join(' ');
}

export interface Trailer {
  rc: number;
  bytes: number;
  sha256: string;
}

/** Finds the last trailer in a stderr tail; returns it and the stderr without it. */
export function parseTrailer(stderr: string): { trailer?: Trailer; rest: string } {
  const re = new RegExp(`\\n?${TRAILER_MARK.replace('/', '\\/')} rc=(\\d+) bytes=(\\d*) sha256=([0-9a-f]*)\\n?`, 'g');
  let last: RegExpExecArray | null = null;
  for (let m = re.exec(stderr); m; m = re.exec(stderr)) last = m;
  if (!last) return { rest: stderr };
  const rest = stderr.slice(0, last.index) + stderr.slice(last.index + last[0].length);
  const [, rc, bytes, sha256] = last;
  if (!bytes || !sha256) return { rest };
  return { trailer: { rc: Number(rc), bytes: Number(bytes), sha256: sha256 }, rest };
}

/** Compares the remote trailer with what the runner received (out) or sent (in). */
export function checkTrailer(
  trailer: Trailer | undefined,
  local: { bytes: number; sha256: string },
  where: string,
  direction: 'out' | 'in',
): void {
  const verb = direction === 'out' ? 'received' : 'sent';
  if (!trailer) {
    throw new IntegrityError(
      `no integrity trailer from ${where}: the stream may have been cut (${local.bytes} bytes ${verb})`,
      {
        hint: 'the connection or kubectl exec may have dropped the end of the stream; retry, and check the remote side',
      },
    );
  }
  if (trailer.bytes !== local.bytes || trailer.sha256 !== local.sha256) {
    throw new IntegrityError(
      `stream from ${where} is incomplete or altered: the remote side ${direction === 'out' ? 'wrote' : 'read'} ${trailer.bytes} bytes (sha256 ${trailer.sha256.slice(0, 16)}…), ` +
        `${local.bytes} bytes ${verb} here (sha256 ${local.sha256.slice(0, 16)}…)`,
      { hint: 'kubectl exec and SSH can lose the tail of a stream while exiting 0; the backup was not stored' },
    );
  }
}
