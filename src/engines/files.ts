// File steps on the database host, as argv with paths passed as arguments (never spliced into a script), and the
// read-only path checks a restore runs there before it changes anything.

import type { CommandSpec } from '../domain/command.js';

/** Writes stdin to a temp file beside `path`, then renames it over `path` (atomic on one filesystem). */
export function placeFileCommand(path: string): CommandSpec {
  return {
    argv: ['sh', '-c', 'cat > "$1.igbackup-new" && mv -f "$1.igbackup-new" "$1"', 'igbackup', path],
    stdin: 'pipe',
  };
}

export function moveCommand(from: string, to: string): CommandSpec {
  return { argv: ['mv', '-f', from, to] };
}

/**
 * Keeps `path` aside as `aside` without copying its bytes (a hard link; a copy only where links are not possible):
 * `path` stays in place until it is replaced by a rename. Prints "kept", or "none" when there is no `path`.
 */
export function keepAsideCommand(path: string, aside: string): CommandSpec {
  return {
    argv: [
      'sh',
      '-c',
      'if [ -e "$1" ]; then { ln -f "$1" "$2" 2>/dev/null || cp -p "$1" "$2"; } && echo kept; else echo none; fi',
      'igbackup',
      path,
      aside,
    ],
  };
}

/** Writes stdin to `path`.igbackup-new only; renameNewCommand puts it in place once every byte is verified. */
export function writeNewCommand(path: string): CommandSpec {
  return { argv: ['sh', '-c', 'cat > "$1.igbackup-new"', 'igbackup', path], stdin: 'pipe' };
}

/** Renames `path`.igbackup-new over `path` (atomic on one filesystem). */
export function renameNewCommand(path: string): CommandSpec {
  return moveCommand(`${path}.igbackup-new`, path);
}

/**
 * Undoes keepAside + writeNew + renameNew, whichever of them ran: removes the temp file, then puts `aside` back over
 * `path` ("kept": unless they are still the same file, when only the extra name goes) or removes `path` ("none": there
 * was no file before). Fails, changing nothing, if a kept file is missing.
 */
export function putBackCommand(path: string, aside: string, before: 'kept' | 'none'): CommandSpec {
  const script = [
    'rm -f "$1.igbackup-new" || exit 1',
    'if [ "$3" = none ]; then exec rm -f "$1"; fi',
    'if [ "$2" -ef "$1" ]; then exec rm -f "$2"; fi',
    'if [ -e "$2" ]; then exec mv -f "$2" "$1"; fi',
    'echo "the previous file $2 is missing" >&2; exit 1',
  ].join('\n');
  return { argv: ['sh', '-c', script, 'igbackup', path, aside, before] };
}

/** The canonical path of `path` on the host (symlinks resolved), so a rewrite keeps a symlink and changes its target. */
export function realPathCommand(path: string): CommandSpec {
  return { argv: ['readlink', '-f', path] };
}

/**
 * What a restore will need on the host, checked as the transport's user without changing anything:
 * - dir-writable: an existing directory where files are created, renamed and removed (write + search permission);
 * - dir-creatable: a directory that exists or can be created (its nearest existing ancestor is writable);
 * - file-replaceable: a file, if present, that is copied aside (readable) and renamed over (not protected by a sticky
 *   directory owned by someone else);
 * - file-writable: an existing file rewritten in place (readable and writable);
 * - runnable: a command: a bare name found with `command -v`, a path that is an executable file;
 * - absent: a name the restore creates, which must not exist yet (what an earlier run left there).
 */
export type PathCheckKind =
  'dir-writable' | 'dir-creatable' | 'file-replaceable' | 'file-writable' | 'runnable' | 'absent';

export interface PathCheck {
  kind: PathCheckKind;
  path: string;
  /** What it is, for the operator ("Redis's dir", "the start command"). */
  what: string;
  /** Why the restore needs it, and how to fix it. */
  why: string;
}

const PATH_CHECK_SCRIPT = `printf 'user\\t%s\\n' "$(id -un 2>/dev/null || id -u)"
while [ $# -ge 2 ]; do
  k="$1"; p="$2"; shift 2
  case "$k" in
    dir-writable) if [ ! -d "$p" ]; then r=missing; elif [ -w "$p" ] && [ -x "$p" ]; then r=ok; else r=not-writable; fi ;;
    dir-creatable) q="$p"; while [ ! -e "$q" ] && [ "$q" != / ] && [ "$q" != . ]; do q=$(dirname "$q"); done
      if [ ! -d "$q" ]; then r=not-a-directory; elif [ -w "$q" ] && [ -x "$q" ]; then r=ok; else r=not-writable; fi ;;
    file-replaceable) d=$(dirname "$p")
      if [ ! -e "$p" ]; then r=ok; elif [ ! -f "$p" ]; then r=not-a-file; elif [ ! -r "$p" ]; then r=not-readable
      elif [ -k "$d" ] && [ ! -O "$p" ] && [ ! -O "$d" ] && [ "$(id -u)" != 0 ]; then r=sticky; else r=ok; fi ;;
    file-writable) if [ ! -f "$p" ]; then r=missing; elif [ -r "$p" ] && [ -w "$p" ]; then r=ok; else r=not-writable; fi ;;
    runnable) case "$p" in
        */*) if [ -f "$p" ] && [ -x "$p" ]; then r=ok; elif [ -e "$p" ]; then r=not-executable; else r=missing; fi ;;
        *) if command -v "$p" >/dev/null 2>&1; then r=ok; else r=not-found; fi ;;
      esac ;;
    absent) if [ -e "$p" ] || [ -L "$p" ]; then r=exists; else r=ok; fi ;;
    *) r=unknown-check ;;
  esac
  printf '%s\\t%s\\n' "$k" "$r"
done`;

/** One sh script (POSIX, read-only: test, command -v, id, dirname) with the checks as arguments. */
export function pathChecksCommand(checks: PathCheck[]): CommandSpec {
  return { argv: ['sh', '-c', PATH_CHECK_SCRIPT, 'igbackup', ...checks.flatMap((c) => [c.kind, c.path])] };
}

const EXPLAIN: Record<string, string> = {
  missing: 'does not exist',
  'not-writable': 'is not writable',
  'not-a-directory': 'is not under a directory',
  'not-a-file': 'is not a regular file',
  'not-readable': 'is not readable',
  sticky: 'sits in a sticky directory owned by another user, so it cannot be replaced',
  'not-executable': 'is not an executable file',
  'not-found': 'is not found in PATH',
  exists: 'exists already',
};

/** The failed checks as problems, each "<what> <path> <explanation> for user U: <why>" (pure). */
export function pathProblems(checks: PathCheck[], stdout: string, where: string): string[] {
  const lines = stdout.split('\n').filter((l) => l.includes('\t'));
  const user = lines[0]?.startsWith('user\t') ? (lines.shift() as string).slice(5) : "the transport's user";
  const problems: string[] = [];
  checks.forEach((c, i) => {
    const [kind, result] = (lines[i] ?? '').split('\t');
    if (kind !== c.kind || result === undefined) {
      problems.push(`${c.what} ${c.path} could not be checked on ${where} (no answer from the check script)`);
    } else if (result !== 'ok') {
      problems.push(`${c.what} ${c.path} ${EXPLAIN[result] ?? result} for user "${user}" on ${where}: ${c.why}`);
    }
  });
  return problems;
}
