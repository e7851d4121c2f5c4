// Neo4j engine: neo4j-admin commands (5.x and 4.4 syntax) for dump/load, online backup/restore and check, as data.

import type { CommandSpec } from '../../domain/command.js';
import type { PathCheck } from '../files.js';

export * from './store-tar.js';

export interface Neo4jTools {
  admin: string;
  syntax: '5' | '4.4';
}

export const DUMP_FORMAT = 'neo4j-dump';
export const BACKUP_FORMAT = 'neo4j-backup';
export const DUMP_EXTENSION = '.dump';
export const BACKUP_EXTENSION = '.backup';

export function versionCommand(t: Neo4jTools): CommandSpec {
  return { argv: [t.admin, '--version'] };
}

/** Offline dump to stdout (the DBMS must be stopped in Community). */
export function dumpCommand(t: Neo4jTools, db: string): CommandSpec {
  return t.syntax === '5'
    ? { argv: [t.admin, 'database', 'dump', db, '--to-stdout'] }
    : { argv: [t.admin, 'dump', `--database=${db}`, '--to=-'] };
}

/** Offline load from stdin, replacing the database. */
export function loadCommand(t: Neo4jTools, db: string): CommandSpec {
  return t.syntax === '5'
    ? { argv: [t.admin, 'database', 'load', db, '--from-stdin', '--overwrite-destination=true'], stdin: 'pipe' }
    : { argv: [t.admin, 'load', '--from=-', `--database=${db}`, '--force'], stdin: 'pipe' };
}

export function checkCommand(t: Neo4jTools, db: string): CommandSpec {
  return { argv: [t.admin, 'database', 'check', db] };
}

/**
 * Enterprise online backup into a directory: one `<db>-<timestamp>.backup` artifact per run; a DIFF builds on the
 * chain whose newest artifact is in that directory.
 */
export function backupCommand(
  t: Neo4jTools,
  db: string,
  dir: string,
  from: string | undefined,
  type: 'FULL' | 'DIFF' = 'FULL',
): CommandSpec {
  return {
    argv: [
      t.admin,
      'database',
      'backup',
      ...(from ? [`--from=${from}`] : []),
      `--to-path=${dir}`,
      `--type=${type}`,
      db,
    ],
  };
}

/**
 * Enterprise restore over the (stopped) database, from one artifact or a directory holding a backup chain; `until`
 * (a transaction id, or a UTC time as "YYYY-MM-DD HH:MM:SS") recovers the chain up to that point.
 */
export function restoreCommand(t: Neo4jTools, db: string, from: string, until?: string): CommandSpec {
  return {
    argv: [
      t.admin,
      'database',
      'restore',
      `--from-path=${from}`,
      ...(until ? [`--restore-until=${until}`] : []),
      '--overwrite-destination=true',
      db,
    ],
  };
}

/** The artifacts of db in dir, one name per line, oldest first (none: empty output). */
export function listBackupsCommand(dir: string, db: string): CommandSpec {
  return {
    argv: ['sh', '-c', 'cd "$1" 2>/dev/null || exit 0; ls -1 "$2"-*.backup 2>/dev/null | sort', 'igbackup', dir, db],
  };
}

/** Empties dir for a new chain (a full backup starts one), creating it when missing. */
export function resetDirCommand(dir: string): CommandSpec {
  return { argv: ['sh', '-c', 'rm -rf "$1" && mkdir -p "$1"', 'igbackup', dir] };
}

/** What a backup run asks for, and what it takes: a full backup starts a chain, a differential extends it. */
export type BackupType = 'full' | 'diff' | 'auto';

/**
 * Full or differential (pure): a differential needs the chain on the host to end where the store's does (the
 * newest complete backup's artifact is the newest one in the chain directory); `auto` falls back to a full backup.
 */
export function chainDecision(
  type: BackupType,
  onHost: string[],
  inStore: { key: string; artifact: string | undefined } | undefined,
): { take: 'FULL' } | { take: 'DIFF'; parent: string } | { problem: string } {
  if (type === 'full') return { take: 'FULL' };
  const tip = onHost.at(-1);
  const why = !inStore
    ? 'the store has no complete Enterprise backup of it to build on'
    : !inStore.artifact
      ? `its newest complete backup ${inStore.key} records no neo4j-admin artifact name (taken by an older igbackup)`
      : tip !== inStore.artifact
        ? `the chain on the Neo4j host ends with ${tip ?? 'nothing'}, the store's with ${inStore.artifact} (${inStore.key})`
        : undefined;
  if (why === undefined && inStore) return { take: 'DIFF', parent: inStore.key };
  return type === 'auto' ? { take: 'FULL' } : { problem: `no chain to take a differential backup on: ${why}` };
}

/** Prints the newest `<db>-*.backup` in dir (paths as arguments, never inside the script). */
export function newestBackupCommand(dir: string, db: string): CommandSpec {
  return { argv: ['sh', '-c', 'ls -1t "$1"/"$2"-*.backup 2>/dev/null | head -n 1', 'igbackup', dir, db] };
}

export function makeDirCommand(dir: string): CommandSpec {
  return { argv: ['mkdir', '-p', dir] };
}

export function removeDirCommand(dir: string): CommandSpec {
  return { argv: ['rm', '-rf', dir] };
}

/**
 * What a restore needs on the Neo4j host, checked read-only before the download and the stop (pure): the service
 * control commands (when the restore stops the service there), neo4j-admin, and Enterprise's work directory.
 */
export function restorePathChecks(t: {
  admin: string;
  service?: { stop: string[]; start: string[]; status: string[] } | undefined;
  workDir?: string | undefined;
}): PathCheck[] {
  const runnable = (argv: string[], key: string, what: string): PathCheck => ({
    kind: 'runnable',
    path: argv[0] as string,
    what,
    why: `fix ${key} (a full path, or install it on that host); without it the restore could not ${what.includes('start') ? 'start Neo4j again' : what.includes('stop') ? 'stop Neo4j' : 'tell whether Neo4j runs'}`,
  });
  const checks: PathCheck[] = [];
  if (t.service) {
    checks.push(runnable(t.service.stop, 'neo4j.service.stop', 'the stop command'));
    checks.push(runnable(t.service.start, 'neo4j.service.start', 'the start command'));
    checks.push(runnable(t.service.status, 'neo4j.service.status', 'the status command'));
  }
  checks.push({
    kind: 'runnable',
    path: t.admin,
    what: 'neo4j-admin',
    why: 'it loads or restores the database: set neo4j.neo4jAdmin to its full path, or install Neo4j there',
  });
  if (t.workDir) {
    checks.push({
      kind: 'dir-creatable',
      path: t.workDir,
      what: 'the Enterprise work directory',
      why: 'the backup artifact is written there before `database restore`: set neo4j.enterprise.workDir to a directory that user can write',
    });
  }
  return checks;
}

/** kubectl --overrides for a helper pod that mounts the data PVC with the Neo4j image and sleeps. */
export function helperPodOverrides(opts: { name: string; image: string; pvc: string; mountPath: string }): string {
  return JSON.stringify({
    apiVersion: 'v1',
    spec: {
      restartPolicy: 'Never',
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: opts.pvc } }],
      containers: [
        {
          name: opts.name,
          image: opts.image,
          command: ['sleep', '86400'],
          volumeMounts: [{ name: 'data', mountPath: opts.mountPath }],
        },
      ],
    },
  });
}

export interface ScratchDbms {
  /** Directory holding data/, run/, logs/ of the throwaway DBMS (its neo4j.conf goes in ROOT/conf). */
  root: string;
  boltPort: number;
  heap: string;
  pageCache: string;
  edition: 'community' | 'enterprise';
}

/**
 * neo4j.conf for a throwaway DBMS on this machine, used through NEO4J_CONF with the installed Neo4j: its own
 * directories, Bolt on a loopback port chosen by the caller, no HTTP(S), no authentication (nothing but this
 * machine can reach it, and no password has to travel anywhere). Pure.
 */
export function scratchConf(syntax: Neo4jTools['syntax'], s: ScratchDbms): string {
  const bolt = `127.0.0.1:${s.boltPort}`;
  const lines =
    syntax === '5'
      ? [
          `server.directories.data=${s.root}/data`,
          `server.directories.run=${s.root}/run`,
          `server.directories.logs=${s.root}/logs`,
          `server.directories.transaction.logs.root=${s.root}/data/transactions`,
          'server.default_listen_address=127.0.0.1',
          `server.bolt.listen_address=${bolt}`,
          `server.bolt.advertised_address=${bolt}`,
          'server.http.enabled=false',
          'server.https.enabled=false',
          'dbms.security.auth_enabled=false',
          `server.memory.heap.initial_size=${s.heap}`,
          `server.memory.heap.max_size=${s.heap}`,
          `server.memory.pagecache.size=${s.pageCache}`,
          ...(s.edition === 'enterprise' ? ['server.backup.enabled=false'] : []),
        ]
      : [
          `dbms.directories.data=${s.root}/data`,
          `dbms.directories.run=${s.root}/run`,
          `dbms.directories.logs=${s.root}/logs`,
          `dbms.directories.transaction.logs.root=${s.root}/data/transactions`,
          'dbms.default_listen_address=127.0.0.1',
          `dbms.connector.bolt.listen_address=${bolt}`,
          'dbms.connector.http.enabled=false',
          'dbms.connector.https.enabled=false',
          'dbms.security.auth_enabled=false',
          `dbms.memory.heap.initial_size=${s.heap}`,
          `dbms.memory.heap.max_size=${s.heap}`,
          `dbms.memory.pagecache.size=${s.pageCache}`,
          ...(s.edition === 'enterprise' ? ['dbms.backup.enabled=false'] : []),
        ];
  return `# Throwaway DBMS written by igbackup (verify/drill); removed with its directory.\n${lines.join('\n')}\n`;
}

/** cypher-shell against a DBMS on this machine; the query goes on stdin (never argv). */
export function cypherCommand(shell: string, boltPort: number, db: string): CommandSpec {
  return { argv: [shell, '-a', `neo4j://127.0.0.1:${boltPort}`, '-d', db, '--format', 'plain', '--non-interactive'] };
}

/** What cypher-shell reads on stdin for one statement: the text, terminated by exactly one ";" (pure). */
export function cypherInput(cypher: string): string {
  return `${cypher.trim().replace(/;?$/, ';')}\n`;
}

/** The values of `cypher-shell --format plain` output: every line after the header, trimmed (pure). */
export function parsePlain(out: string): string {
  return out.replace(/\r/g, '').trim().split('\n').slice(1).join('\n').trim();
}
