// Neo4j engine: the commands of method tar (the whole data directory of a stopped DBMS), as data.

import type { CommandSpec } from '../../domain/command.js';

/**
 * `tar`: the whole data directory of a stopped DBMS (every database, `system` included) as one artifact. Listed as
 * the unit `_dbms`, a name no Neo4j database can have (they start with a letter); restorable only into the same Neo4j
 * version (the manifest records it).
 */
export const TAR_FORMAT = 'neo4j-store-tar';
export const TAR_EXTENSION = '.tar';
export const STORE_UNIT = '_dbms';
/** The entries of the data directory moved aside by a tar restore (inside it: a mount point cannot be moved). */
export const ASIDE_PREFIX = '.igbackup-previous-';

/** The databases in a data directory (the folders under databases/), one per line; none (or no such folder): empty output. */
export function listStoreDatabasesCommand(dataDir: string): CommandSpec {
  return {
    argv: [
      'sh',
      '-c',
      'cd "$1/databases" 2>/dev/null || exit 0; for d in *; do [ -d "$d" ] && echo "$d"; done; exit 0',
      'igbackup',
      dataDir,
    ],
  };
}

/** KiB used by the data directory (`du -sk`), for the upload's part size. */
export function storeSizeCommand(dataDir: string): CommandSpec {
  return { argv: ['du', '-sk', dataDir] };
}

/** The data directory as a tar stream on stdout, its entries relative (./databases/...), a put-aside copy excluded. */
export function tarCreateCommand(dataDir: string): CommandSpec {
  return { argv: ['tar', '-c', '-f', '-', '-C', dataDir, `--exclude=./${ASIDE_PREFIX}*`, '.'] };
}

/**
 * Moves every entry of the data directory (but put-aside copies) into `<dataDir>/<aside>`: a rename on the same
 * filesystem, so it needs no space and works when the data directory is a mount point.
 */
export function moveAsideCommand(dataDir: string, aside: string): CommandSpec {
  return {
    argv: [
      'sh',
      '-c',
      'set -e; cd "$1"; mkdir "$2"; for e in * .[!.]* ..?*; do [ -e "$e" ] || [ -L "$e" ] || continue; case "$e" in "$3"*) continue;; esac; mv "$e" "$2/"; done',
      'igbackup',
      dataDir,
      aside,
      ASIDE_PREFIX,
    ],
  };
}

/**
 * Unpacks the tar stream on stdin into the data directory; as root, the unpacked files get the data directory's owner
 * (Neo4j runs as that user, and the archive's owners are another machine's).
 */
export function unpackCommand(dataDir: string): CommandSpec {
  return {
    argv: [
      'sh',
      '-c',
      'set -e; tar -x -f - -C "$1"; if [ "$(id -u)" = 0 ]; then chown -R "$(stat -c %u:%g "$1")" "$1"; fi',
      'igbackup',
      dataDir,
    ],
    stdin: 'pipe',
  };
}

/** The undo of moveAside: removes what was unpacked, moves the put-aside entries back, removes the empty aside dir. */
export function moveBackCommand(dataDir: string, aside: string): CommandSpec {
  return {
    argv: [
      'sh',
      '-c',
      'set -e; cd "$1"; [ -d "$2" ]; for e in * .[!.]* ..?*; do [ -e "$e" ] || [ -L "$e" ] || continue; case "$e" in "$3"*) continue;; esac; rm -rf "$e"; done; for e in "$2"/* "$2"/.[!.]* "$2"/..?*; do [ -e "$e" ] || [ -L "$e" ] || continue; mv "$e" .; done; rmdir "$2"',
      'igbackup',
      dataDir,
      aside,
      ASIDE_PREFIX,
    ],
  };
}

/** Free KiB on the data directory's filesystem (`df -Pk`, the 4th column of the last line). */
export function freeKibCommand(dataDir: string): CommandSpec {
  return { argv: ['sh', '-c', 'df -Pk "$1" | tail -n 1', 'igbackup', dataDir] };
}

/** Parses `df -Pk` (last line): available KiB, or undefined. */
export function parseFreeKib(out: string): number | undefined {
  const n = Number(out.trim().split(/\s+/)[3]);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** The version a tar backup needs: the first line of `neo4j-admin --version` (the server's own version). */
export function adminVersionOf(out: string): string {
  return out.trim().split('\n')[0]?.trim() ?? '';
}

/** The databases a tar backup holds, from its manifest's facts (`system` at least). */
export function storeDatabases(m: { tools: Readonly<Record<string, string | undefined>> }): string[] {
  const dbs = (m.tools.databases ?? '').split(',').filter(Boolean);
  return dbs.length ? dbs : ['system'];
}
