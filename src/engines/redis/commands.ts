// Redis engine: redis-cli commands (RDB stream, BGSAVE, INFO, CONFIG), file steps for a restore, and output parsing.

import type { CommandSpec } from '../../domain/command.js';
import { moveCommand } from '../files.js';

export interface RedisConnection {
  host: string;
  port: number;
  user?: string | undefined;
  /** Resolved password; travels as REDISCLI_AUTH in the environment, never in argv. */
  password?: string | undefined;
  tls?:
    | {
        caFile?: string | undefined;
        certFile?: string | undefined;
        keyFile?: string | undefined;
        sni?: string | undefined;
        insecure: boolean;
      }
    | undefined;
  binDir?: string | undefined;
}

export const ARTIFACT_FORMAT = 'redis-rdb';
/** redis-cli prints the server's errors on stdout and exits 0: such an answer is the command's failure. */
export const ERROR_ANSWER =
  /^(ERR|WRONGPASS|NOAUTH|NOPERM|LOADING|READONLY|OOM|MISCONF|BUSY|MASTERDOWN|NOREPLICAS|WRONGTYPE)\b/;
export const RDB_EXTENSION = '.rdb';
/** What every RDB file starts with ("REDIS" and a four-digit version). */
export const RDB_MAGIC = { bytes: Buffer.from('REDIS'), format: 'Redis RDB file' };

function bin(c: RedisConnection, program: string): string {
  return c.binDir ? `${c.binDir.replace(/\/+$/, '')}/${program}` : program;
}

function env(c: RedisConnection): Record<string, string> {
  return c.password === undefined ? {} : { REDISCLI_AUTH: c.password };
}

/** redis-cli with connection, ACL user and TLS flags. */
export function cli(c: RedisConnection, ...args: string[]): CommandSpec {
  const argv = [bin(c, 'redis-cli'), '-h', c.host, '-p', String(c.port)];
  if (c.user) argv.push('--user', c.user);
  if (c.tls) {
    argv.push('--tls');
    if (c.tls.caFile) argv.push('--cacert', c.tls.caFile);
    if (c.tls.certFile) argv.push('--cert', c.tls.certFile);
    if (c.tls.keyFile) argv.push('--key', c.tls.keyFile);
    if (c.tls.sni) argv.push('--sni', c.tls.sni);
    if (c.tls.insecure) argv.push('--insecure');
  }
  // --no-auth-warning: redis-cli would otherwise warn about a password given on the command line (there is none).
  argv.push('--no-auth-warning', ...args);
  return { argv, env: env(c), timeoutMs: REDIS_CLI_TIMEOUT_MS };
}

/** How long one redis-cli command may take before it counts as no answer (a frozen server accepts connections). */
export const REDIS_CLI_TIMEOUT_MS = 120_000;

/** The RDB as a replica sees it (fork + copy-on-write on the server), on stdout. */
export function rdbStreamCommand(c: RedisConnection): CommandSpec {
  // A stream, bounded by the transport's idle timeout instead: it may take hours.
  return { ...cli(c, '--rdb', '-'), timeoutMs: undefined };
}

export function versionCommand(c: RedisConnection): CommandSpec {
  return { argv: [bin(c, 'redis-cli'), '--version'] };
}

/**
 * The default stop: SHUTDOWN SAVE writes the current dataset to the dump before exiting, so the copy kept aside is
 * the state at the moment of the restore; if that save fails, Redis 7 refuses to shut down ("ERR Errors trying to
 * SHUTDOWN") and keeps running.
 */
export function shutdownSaveCommand(c: RedisConnection): CommandSpec {
  // Saving a large dataset takes as long as it takes: no reply bound (the restore's own waits bound what follows).
  return { ...cli(c, 'SHUTDOWN', 'SAVE'), timeoutMs: undefined };
}

/**
 * Stops Redis without saving: what a restore undoes when Redis runs the restored data (that must not be persisted).
 * FORCE (Redis >= 7): without it Redis refuses to exit while it writes its first AOF ("Writing initial AOF, can't
 * exit"), which is exactly when a restore that turns AOF back on may be cancelled; the old AOF stays untouched.
 */
export function shutdownNoSaveCommand(c: RedisConnection, force = true): CommandSpec {
  return cli(c, 'SHUTDOWN', 'NOSAVE', ...(force ? ['FORCE'] : []));
}

export { restoreCommands, restorePathChecks, type RedisRestoreTarget } from './restore-checks.js';

/** Streams a file to stdout (bgsave mode: the dump.rdb the server wrote). */
export function catCommand(path: string): CommandSpec {
  return { argv: ['cat', path] };
}

/** Saves the config file aside and writes a copy with "appendonly no" in its place. */
export function disableAofInConfigCommand(configFile: string): CommandSpec {
  return {
    argv: [
      'sh',
      '-c',
      'cp -p "$1" "$1.igbackup-orig" && sed "s/^[[:space:]]*appendonly[[:space:]].*/appendonly no/" "$1.igbackup-orig" > "$1"',
      'igbackup',
      configFile,
    ],
  };
}

/** Puts the saved config file back. */
export function restoreConfigCommand(configFile: string): CommandSpec {
  return moveCommand(`${configFile}.igbackup-orig`, configFile);
}

/** Puts the saved config file back if disableAofInConfigCommand got as far as saving it (an interrupted rewrite). */
export function restoreConfigIfSavedCommand(configFile: string): CommandSpec {
  return { argv: ['sh', '-c', '[ ! -e "$1.igbackup-orig" ] || mv -f "$1.igbackup-orig" "$1"', 'igbackup', configFile] };
}

/** redis-check-rdb on a local file: the engine's native check. */
export function checkRdbCommand(path: string, binDir?: string): CommandSpec {
  return { argv: [binDir ? `${binDir.replace(/\/+$/, '')}/redis-check-rdb` : 'redis-check-rdb', path] };
}

/** Parses INFO output into a flat map (section headers and blank lines skipped). */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

/**
 * Whether a server's INFO replication shows a replica fit to back up from (pure): a replica, its link to the primary
 * up, and a byte from the primary within maxLagSec. Returns the problem, or undefined.
 */
export function replicaProblem(info: Record<string, string>, maxLagSec: number): string | undefined {
  if (info.role !== 'slave') return `it is not a replica (role:${info.role ?? 'unknown'})`;
  if (info.master_link_status !== 'up')
    return `its link to the primary ${info.master_host ?? '?'}:${info.master_port ?? '?'} is ${info.master_link_status ?? 'unknown'}${info.master_sync_in_progress === '1' ? ' (a full sync is in progress)' : ''}`;
  const io = Number(info.master_last_io_seconds_ago);
  if (Number.isFinite(io) && io > maxLagSec)
    return `it heard nothing from the primary for ${io} s (redis.replica.maxLagSec ${maxLagSec})`;
  return undefined;
}

/**
 * The heartbeat a `GET key` answered, as an ISO time in UTC: a time with a zone (what `igbackup redis heartbeat`
 * writes); undefined for no value and 'unreadable' for anything else (not a time igbackup can trust).
 */
export function parseHeartbeat(out: string): string | 'unreadable' | undefined {
  const v = out.trim();
  if (!v) return undefined;
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(v) ? Date.parse(v) : NaN;
  return Number.isNaN(ms) ? 'unreadable' : new Date(ms).toISOString();
}

/** Parses `redis-cli CONFIG GET a b ...` (name and value on alternating lines). */
export function parseConfigGet(text: string): Record<string, string> {
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) out[lines[i] as string] = lines[i + 1] as string;
  return out;
}

/** Total keys over all databases from INFO keyspace ("db0:keys=10,expires=0,avg_ttl=0"). */
export function keyspaceKeys(info: Record<string, string>): number {
  let total = 0;
  for (const [k, v] of Object.entries(info)) {
    if (/^db\d+$/.test(k)) total += Number(/keys=(\d+)/.exec(v)?.[1] ?? 0);
  }
  return total;
}

/** "[info] 5000 keys read" from redis-check-rdb. */
export function parseCheckRdbKeys(output: string): number | undefined {
  const m = /(\d+) keys read/.exec(output);
  return m ? Number(m[1]) : undefined;
}

/** What redis-check-rdb (7.x) read: keys, keys with an expire ("[info] 1 expires"), the source's used-mem AUX field. */
export interface RdbSummary {
  keys?: number | undefined;
  expires?: number | undefined;
  usedMem?: number | undefined;
}

export function parseCheckRdb(output: string): RdbSummary {
  const num = (re: RegExp): number | undefined => {
    const m = re.exec(output);
    return m ? Number(m[1]) : undefined;
  };
  return {
    keys: num(/(\d+) keys read/),
    expires: num(/\[info\] (\d+) expires/),
    usedMem: num(/AUX FIELD used-mem = '(\d+)'/),
  };
}

/**
 * What redis-check-rdb proved: it parses every record to the end of the file, then compares the CRC64 trailer
 * ("Checksum OK"), unless the RDB was saved with rdbchecksum no ("checksum disabled").
 */
export function describeCheckRdb(output: string): string {
  const keys = parseCheckRdbKeys(output);
  const sum = /Checksum OK/i.test(output)
    ? 'CRC64 checksum OK'
    : /checksum disabled/i.test(output)
      ? 'no checksum to compare (saved with rdbchecksum no)'
      : 'checksum not reported';
  return `every record parsed to the end of the file, ${keys ?? '?'} keys read, ${sum}`;
}

export interface PersistenceReport {
  item: string;
  actual: string;
  expected?: string | undefined;
  status: 'ok' | 'drift' | 'warning' | 'info';
  note?: string | undefined;
}

/** Compares persistence settings with expectations (pure): save policy, AOF, last bgsave, overcommit hint. */
export function persistenceReport(
  config: Record<string, string>,
  info: Record<string, string>,
  expect: { save?: string | undefined; appendonly?: boolean | undefined } = {},
): PersistenceReport[] {
  const rows: PersistenceReport[] = [];
  const save = (config.save ?? '').trim();
  const norm = (s: string): string => s.trim().split(/\s+/).join(' ');
  rows.push({
    item: 'save',
    actual: save || '(disabled)',
    expected: expect.save,
    status: expect.save === undefined ? (save ? 'info' : 'warning') : norm(save) === norm(expect.save) ? 'ok' : 'drift',
    note: save ? undefined : 'no RDB snapshots are scheduled',
  });
  const aof = config.appendonly ?? 'unknown';
  rows.push({
    item: 'appendonly',
    actual: aof,
    expected: expect.appendonly === undefined ? undefined : expect.appendonly ? 'yes' : 'no',
    status: expect.appendonly === undefined ? 'info' : (aof === 'yes') === expect.appendonly ? 'ok' : 'drift',
  });
  const last = info.rdb_last_bgsave_status ?? 'unknown';
  rows.push({
    item: 'rdb_last_bgsave_status',
    actual: last,
    status: last === 'ok' ? 'ok' : 'drift',
    note: last === 'ok' ? undefined : 'the last background save failed',
  });
  if (config.appendonly === 'yes') {
    const aofStatus = info.aof_last_write_status ?? 'unknown';
    rows.push({ item: 'aof_last_write_status', actual: aofStatus, status: aofStatus === 'ok' ? 'ok' : 'drift' });
  }
  return rows;
}

/**
 * A Redis older than the one that wrote the backup cannot load it (the RDB format grows with the releases: 7.0 writes
 * version 10, 7.2 version 11, 7.4 version 12): compared by major and minor. Undefined: fine, or a version unknown.
 */
export function targetTooOld(
  backupServer: string | undefined,
  targetServer: string | undefined,
  where: string,
): { problem: string; hint: string } | undefined {
  const parse = (v: string | undefined): [number, number] | undefined => {
    const m = /^(\d+)\.(\d+)/.exec(v ?? '');
    return m ? [Number(m[1]), Number(m[2])] : undefined;
  };
  const [b, t] = [parse(backupServer), parse(targetServer)];
  if (!b || !t || t[0] > b[0] || (t[0] === b[0] && t[1] >= b[1])) return undefined;
  return {
    problem: `the backup was written by Redis ${backupServer}; Redis ${targetServer} at ${where} cannot load a newer RDB (nothing was stopped or changed)`,
    hint: `restore into Redis ${b[0]}.${b[1]} or newer (upgrade the target first), or pick a backup taken by this version (igbackup list)`,
  };
}
