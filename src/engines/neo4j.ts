// Neo4j engine: neo4j-admin commands (5.x and 4.4 syntax) for dump/load, online backup/restore and check, as data.

import type { CommandSpec } from '../domain/command.js';

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

/** Enterprise online backup into a directory: one `<db>-<timestamp>.backup` artifact per run. */
export function backupCommand(t: Neo4jTools, db: string, dir: string, from?: string): CommandSpec {
  return { argv: [t.admin, 'database', 'backup', ...(from ? [`--from=${from}`] : []), `--to-path=${dir}`, '--type=FULL', db] };
}

/** Enterprise restore of one artifact over the (stopped) database. */
export function restoreCommand(t: Neo4jTools, db: string, file: string): CommandSpec {
  return { argv: [t.admin, 'database', 'restore', `--from-path=${file}`, '--overwrite-destination=true', db] };
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
