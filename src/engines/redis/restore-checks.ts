// What a Redis restore checks, as data (pure): the paths and commands on the host, the commands its user must be
// allowed to run, whether the backup can fit maxmemory, and whether what Redis loaded is the whole backup.

import { posix } from 'node:path';
import { formatBytes } from '../../domain/human.js';
import type { PathCheck } from '../files.js';
import type { RdbSummary } from './commands.js';

export interface RedisRestoreTarget {
  dir: string;
  rdbPath: string;
  /** The config file, when the restore rewrites it (AOF on or configured): its real path (symlinks resolved). */
  configFile?: string | undefined;
  start: string[];
  stop?: string[] | undefined;
}

/** The read-only checks a restore runs on the Redis host before it stops anything. */
export function restorePathChecks(t: RedisRestoreTarget): PathCheck[] {
  const name = posix.basename(t.rdbPath);
  const checks: PathCheck[] = [
    {
      kind: 'dir-writable',
      path: t.dir,
      what: "Redis's dir",
      why: `the restore writes ${name}.igbackup-new there, keeps the current ${name} aside and renames files; run it as a user who can write there (the transport's user, e.g. the redis user) or grant that user write access`,
    },
    {
      kind: 'file-replaceable',
      path: t.rdbPath,
      what: 'the current dump',
      why: 'it is kept aside and then replaced; make it readable and replaceable by that user',
    },
  ];
  if (t.configFile) {
    const dir = posix.dirname(t.configFile);
    const orig = `${t.configFile}.igbackup-orig`;
    const why = `igbackup writes ${posix.basename(orig)} beside it and starts Redis once with appendonly no; grant that user write access or run the restore as its owner`;
    checks.push({ kind: 'file-writable', path: t.configFile, what: 'the config file (restore.configFile)', why });
    checks.push({ kind: 'dir-writable', path: dir, what: "the config file's directory", why });
    const stale = `an earlier restore was cut short: it holds the config from before that restore; compare it with ${t.configFile}, keep the right one there and remove ${posix.basename(orig)}`;
    checks.push({ kind: 'absent', path: orig, what: 'the saved config file', why: stale });
  }
  const runnable = (argv: string[], what: string, key: string): PathCheck => ({
    kind: 'runnable',
    path: argv[0] as string,
    what,
    why: `fix ${key} (a full path, or install the program on that host), or the restore could not ${what.includes('start') ? 'start Redis again' : 'stop Redis'}`,
  });
  checks.push(runnable(t.start, 'the start command', 'restore.start'));
  if (t.stop) checks.push(runnable(t.stop, 'the stop command', 'restore.stop'));
  return checks;
}

/** The commands a restore sends besides CONFIG GET/SET, for `ACL DRYRUN <user> …` in the preflight. */
export function restoreCommands(o: { shutdown: boolean }): string[][] {
  return [['PING'], ['INFO', 'persistence'], ['LASTSAVE'], ['BGSAVE'], ...(o.shutdown ? [['SHUTDOWN', 'NOSAVE']] : [])];
}

/** Redis's memory limit as CONFIG GET and INFO memory report it. */
export interface MemoryLimit {
  /** 0: no limit. */
  maxmemory: number;
  policy: string;
}

function limitText(m: MemoryLimit): string {
  return `maxmemory ${formatBytes(m.maxmemory)} (${m.maxmemory} bytes, maxmemory-policy ${m.policy})`;
}

/** What happens to a dataset over maxmemory under this policy. */
function overLimit(m: MemoryLimit): string {
  return m.policy === 'noeviction' || m.policy.startsWith('volatile')
    ? 'every write would be refused (OOM) and keys without a TTL cannot be evicted'
    : 'keys would be evicted';
}

/**
 * Whether the backup obviously cannot fit: in memory a dataset never takes less than its RDB (whose records are
 * compact or compressed), and an empty Redis already uses used_memory_startup. Undefined when it may fit.
 */
export function backupCannotFit(rdbBytes: number, usedMemoryStartup: number, m: MemoryLimit): string | undefined {
  if (m.maxmemory <= 0 || rdbBytes + usedMemoryStartup <= m.maxmemory) return undefined;
  return (
    `the backup cannot fit this Redis: its RDB alone is ${formatBytes(rdbBytes)} and needs at least as much memory, plus ` +
    `${formatBytes(usedMemoryStartup)} Redis uses when empty (used_memory_startup), over ${limitText(m)}: ${overLimit(m)}; ` +
    'raise maxmemory (in the config file, and CONFIG SET maxmemory) or restore into a larger instance'
  );
}

/** What Redis holds right after the load (INFO keyspace, stats, memory). */
export interface Loaded extends MemoryLimit {
  keys: number;
  /** evicted_keys since the start: the load itself. */
  evicted: number;
  usedMemory: number;
  /** mem_not_counted_for_evict: buffers maxmemory does not count. */
  notCounted: number;
}

export interface LoadVerdict {
  /** The restore failed: fewer keys than the backup holds without a TTL, evictions, or a dataset over maxmemory. */
  problem?: string | undefined;
  hint?: string | undefined;
  /** Fewer keys than read, but only as many as keys with a TTL (which may have expired). */
  warning?: string | undefined;
}

/** Compares what Redis loaded with what redis-check-rdb read from the backup. */
export function judgeLoad(backup: RdbSummary, got: Loaded): LoadVerdict {
  const counts = `Redis holds ${got.keys} keys after the load, the backup ${backup.keys ?? '?'}${backup.expires !== undefined ? ` (${backup.expires} with a TTL)` : ''}`;
  const memory = `${limitText(got)}, used_memory ${formatBytes(got.usedMemory)} (${got.usedMemory} bytes)`;
  const limitHint = `the likely cause is ${memory}: raise maxmemory (in the config file, and CONFIG SET maxmemory) or restore into a larger instance`;
  if (got.evicted > 0)
    return { problem: `${counts}: ${got.evicted} keys were evicted during the load`, hint: limitHint };
  if (got.maxmemory > 0 && got.usedMemory - got.notCounted > got.maxmemory) {
    return { problem: `the restored dataset does not fit: ${memory}: ${overLimit(got)}`, hint: limitHint };
  }
  if (backup.keys === undefined || got.keys >= backup.keys) return {};
  const withoutTtl = backup.expires === undefined ? undefined : backup.keys - backup.expires;
  if ((withoutTtl !== undefined && got.keys < withoutTtl) || got.keys === 0) {
    const why =
      got.maxmemory > 0
        ? limitHint
        : "the RDB was not fully loaded: check Redis's log (a different dir or dbfilename, a module it lacks)";
    return { problem: `${counts}: keys without a TTL are missing`, hint: why };
  }
  const ttl =
    backup.expires === undefined
      ? 'keys with a TTL may have expired (redis-check-rdb did not say how many have one)'
      : 'no more than the keys with a TTL, which may have expired';
  return { warning: `${counts}: ${backup.keys - got.keys} fewer, ${ttl}` };
}
