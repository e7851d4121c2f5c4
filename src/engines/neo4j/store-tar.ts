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

/**
 * The databases of a data directory and their transaction log folders, one per line (`databases/<name>`,
 * `transactions/<name>`); none (or no such folder): empty output.
 */
export function listStoreDatabasesCommand(dataDir: string): CommandSpec {
  return {
    argv: [
      'sh',
      '-c',
      'for k in databases transactions; do [ -d "$1/$k" ] || continue; for d in "$1/$k"/*; do [ -d "$d" ] && echo "$k/${d##*/}"; done; done; exit 0',
      'igbackup',
      dataDir,
    ],
  };
}

/**
 * The databases of a listing, or what makes the directory unfit for a tar: no `system` database (not a data
 * directory), or a database whose transaction logs are not under transactions/ (server.directories.transaction.logs.root
 * elsewhere: a tar would pair old stores with newer logs).
 */
export function judgeStoreListing(out: string): { databases: string[] } | { problem: string } {
  const lines = out.split('\n').filter(Boolean);
  const dbs = lines.filter((l) => l.startsWith('databases/')).map((l) => l.slice('databases/'.length));
  const txs = new Set(lines.filter((l) => l.startsWith('transactions/')).map((l) => l.slice('transactions/'.length)));
  if (!dbs.includes('system'))
    return { problem: `no Neo4j store there (no databases/system; found: ${dbs.join(', ') || 'nothing'})` };
  const noLogs = dbs.filter((d) => !txs.has(d));
  if (noLogs.length)
    return {
      problem: `the transaction logs of ${noLogs.join(', ')} are not under transactions/ (server.directories.transaction.logs.root points elsewhere): a tar of this directory would miss them`,
    };
  return { databases: dbs };
}

/** KiB used by the data directory (`du -sk`), for the upload's part size. */
export function storeSizeCommand(dataDir: string): CommandSpec {
  return { argv: ['du', '-sk', dataDir] };
}

/** The data directory as a tar stream on stdout, its entries relative (./databases/...), a put-aside copy excluded. */
export function tarCreateCommand(dataDir: string): CommandSpec {
  return {
    argv: ['tar', '-c', '-f', '-', '-C', dataDir, `--exclude=./${ASIDE_PREFIX}*`, '--exclude=./lost+found', '.'],
  };
}

/**
 * Moves every entry of the data directory (but put-aside folders and lost+found) into `<dataDir>/<aside>`, all names
 * written to `<aside>/.igbackup-entries` before the first moves: a rename on the same filesystem, so it needs no space
 * and works when the data directory is a mount point. An entry that cannot move (a mount point inside, say) puts the ones
 * already moved back and exits 1: nothing changed; exit 2 when even that fails (the list says what is where).
 */
export function moveAsideCommand(dataDir: string, aside: string): CommandSpec {
  return {
    argv: [
      'sh',
      '-c',
      [
        'cd "$1" || exit 1; mkdir "$2" || exit 1; list="$2/.igbackup-entries"',
        'aside="$2"; undo() { rm -f -- "$list"; rmdir -- "$aside"; exit 1; }',
        'for e in * .[!.]* ..?*; do [ -e "$e" ] || [ -L "$e" ] || continue; case "$e" in "$3"*|lost+found) continue;; esac',
        '  printf "%s\\n" "$e" >> "$list" || undo',
        'done',
        '[ -f "$list" ] || : > "$list" || undo',
        'while IFS= read -r e; do mv -- "$e" "$2/" && continue',
        '  while IFS= read -r n; do if [ -e "$2/$n" ] || [ -L "$2/$n" ]; then mv -- "$2/$n" "./$n" || exit 2; fi; done < "$list"',
        '  undo',
        'done < "$list"',
      ].join('\n'),
      'igbackup',
      dataDir,
      aside,
      ASIDE_PREFIX,
    ],
  };
}

/**
 * Unpacks the tar stream on stdin into the data directory; as root, every file then gets the owner the data directory
 * had before (read first: the archive's own "./" entry would change it), since Neo4j runs as that user.
 */
export function unpackCommand(dataDir: string): CommandSpec {
  return {
    argv: [
      'sh',
      '-c',
      'set -e; cd "$1"; o=$(stat -c %u:%g .); tar -x -f - -C .; if [ "$(id -u)" = 0 ]; then chown -R "$o" .; fi',
      'igbackup',
      dataDir,
    ],
    stdin: 'pipe',
  };
}

/**
 * The undo of moveAside, safe to run again after an interruption: entries not in the aside list are what was unpacked
 * (removed); each listed entry still in the aside folder replaces what is at its name; an entry already moved back
 * stays. Then the list and the aside folder go.
 */
export function moveBackCommand(dataDir: string, aside: string): CommandSpec {
  return {
    argv: [
      'sh',
      '-c',
      [
        'cd "$1" || exit 1; [ -d "$2" ] || exit 1; list="$2/.igbackup-entries"; [ -f "$list" ] || exit 1',
        'for e in * .[!.]* ..?*; do [ -e "$e" ] || [ -L "$e" ] || continue; case "$e" in "$3"*|lost+found) continue;; esac',
        '  grep -Fxq -- "$e" "$list" || rm -rf -- "./$e" || exit 1',
        'done',
        'while IFS= read -r n; do',
        '  if [ -e "$2/$n" ] || [ -L "$2/$n" ]; then rm -rf -- "./$n" && mv -- "$2/$n" "./$n" || exit 1; fi',
        'done < "$list"',
        'rm -f -- "$list" && rmdir -- "$2"',
      ].join('\n'),
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
