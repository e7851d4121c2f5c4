// What pgBackRest's repository and PostgreSQL's archiver say, read as data (pure): the base backups of a stanza from
// `pgbackrest info --output=json`, the archiving lag from pg_stat_archiver, and the arguments of a restore.

/** One base backup as `info` lists it. */
export interface BaseBackup {
  label: string;
  type: 'full' | 'diff' | 'incr';
  startedAt: string;
  finishedAt: string;
  /** The database's size, and what the backup takes in the repository. */
  bytes: number;
  repoBytes: number;
  /** WAL from the start to the stop of the backup (needed to make it consistent). */
  walStart: string;
  walStop: string;
  error: boolean;
}

export interface StanzaInfo {
  status: string;
  /** pgBackRest's status code: 0 ok, 1 missing stanza path, 2 no valid backups, 3 missing stanza data, 99 other. */
  statusCode?: number | undefined;
  /** WAL segments in the repository, oldest and newest (undefined when none). */
  walMin?: string | undefined;
  walMax?: string | undefined;
  backups: BaseBackup[];
  /** The PostgreSQL major version of the repository's current database. */
  pgVersion?: string | undefined;
  /** The archive's folder for the current database ("15-1": version and database id), where its WAL is. */
  archiveId?: string | undefined;
}

interface RawInfo {
  name?: string;
  status?: { code?: number; message?: string };
  archive?: { id?: string; min?: string | null; max?: string | null }[];
  db?: { version?: string }[];
  backup?: {
    label?: string;
    type?: string;
    error?: boolean;
    timestamp?: { start?: number; stop?: number };
    info?: { size?: number; repository?: { delta?: number; size?: number } };
    archive?: { start?: string | null; stop?: string | null };
  }[];
}

/** The cluster's WAL segment size in bytes, as one JSON row ({"bytes": 16777216}). */
export const WAL_SEGMENT_SIZE_SQL = `SELECT json_build_object('bytes', setting::bigint * CASE unit WHEN 'B' THEN 1 WHEN 'kB' THEN 1024 WHEN 'MB' THEN 1048576 ELSE 1 END) FROM pg_settings WHERE name = 'wal_segment_size';\n`;

/** Parses `pgbackrest info --output=json` for one stanza; a stanza that is not there is undefined. */
export function parseStanzaInfo(json: string, stanza: string): StanzaInfo | undefined {
  const all = JSON.parse(json) as RawInfo[];
  const s = Array.isArray(all) ? all.find((x) => x.name === stanza) : undefined;
  if (!s) return undefined;
  const iso = (sec: number | undefined): string => new Date((sec ?? 0) * 1000).toISOString();
  const archive = s.archive?.at(-1);
  return {
    status: s.status?.message ?? 'unknown',
    statusCode: s.status?.code,
    walMin: archive?.min ?? undefined,
    walMax: archive?.max ?? undefined,
    pgVersion: s.db?.at(-1)?.version,
    archiveId: archive?.id,
    backups: (s.backup ?? []).map((b) => ({
      label: b.label ?? '?',
      type: b.type === 'diff' || b.type === 'incr' ? b.type : 'full',
      startedAt: iso(b.timestamp?.start),
      finishedAt: iso(b.timestamp?.stop),
      bytes: b.info?.size ?? 0,
      repoBytes: b.info?.repository?.delta ?? b.info?.repository?.size ?? 0,
      walStart: b.archive?.start ?? '',
      walStop: b.archive?.stop ?? '',
      error: Boolean(b.error),
    })),
  };
}

/** What pg_stat_archiver and the current WAL position say (pitrSql.archiver). */
export interface ArchiverState {
  archived: number;
  lastArchivedWal: string | null;
  lastArchivedAt: string | null;
  failed: number;
  lastFailedWal: string | null;
  lastFailedAt: string | null;
  currentWal: string | null;
  now: string;
}

export interface ArchiveLag {
  state: 'ok' | 'behind' | 'failing' | 'never';
  /** How much committed work a loss of the host now could lose, at most, in seconds (undefined: unbounded). */
  rpoSeconds: number | undefined;
  detail: string;
}

/** A WAL segment's position on its timeline (file name: 8 hex timeline, 8 hex log, 8 hex segment). */
export function segmentNumber(wal: string): bigint | undefined {
  if (!/^[0-9A-F]{24}$/.test(wal)) return undefined;
  return BigInt(`0x${wal.slice(8, 16)}`) * 0x100000000n + BigInt(`0x${wal.slice(16, 24)}`);
}

/**
 * The RPO now: with every segment before the current one archived, what is not yet archived is the current segment,
 * which archive_timeout closes within that many seconds; with segments pending, the age of the last archived one.
 */
export function archiveLag(a: ArchiverState, archiveTimeoutSec: number): ArchiveLag {
  const now = Date.parse(a.now);
  if (!a.lastArchivedWal || !a.lastArchivedAt) {
    return { state: 'never', rpoSeconds: undefined, detail: 'no WAL segment was ever archived' };
  }
  const age = Math.max(0, Math.round((now - Date.parse(a.lastArchivedAt)) / 1000));
  if (a.lastFailedAt && Date.parse(a.lastFailedAt) > Date.parse(a.lastArchivedAt)) {
    return {
      state: 'failing',
      rpoSeconds: age,
      detail: `archiving fails: ${a.lastFailedWal} failed at ${a.lastFailedAt} (${a.failed} failures); last success ${age} s ago`,
    };
  }
  const last = segmentNumber(a.lastArchivedWal);
  const current = a.currentWal ? segmentNumber(a.currentWal) : undefined;
  const pending =
    last !== undefined && current !== undefined && a.currentWal?.slice(0, 8) === a.lastArchivedWal.slice(0, 8)
      ? Number(current - last - 1n)
      : 0;
  if (pending > 0) {
    return {
      state: 'behind',
      rpoSeconds: age,
      detail: `${pending} WAL segment(s) waiting to be archived; the last was archived ${age} s ago`,
    };
  }
  return {
    state: 'ok',
    rpoSeconds: archiveTimeoutSec,
    detail: `every closed WAL segment is archived (the last ${age} s ago); archive_timeout bounds the open one to ${archiveTimeoutSec} s`,
  };
}

/** pgBackRest restore arguments: into `dir`, to a time or to the end of the archive, not archiving from the copy. */
export function restoreArgs(o: {
  dir: string;
  to?: string | undefined;
  delta?: boolean;
  processMax: number;
}): string[] {
  return [
    'restore',
    `--pg1-path=${o.dir}`,
    `--process-max=${o.processMax}`,
    ...(o.to ? ['--type=time', `--target=${o.to}`, '--target-action=promote'] : ['--type=default']),
    ...(o.delta ? ['--delta'] : ['--archive-mode=off']),
  ];
}

/**
 * The limits a restored copy must start with (a server in recovery refuses limits below the primary's), as
 * pg_controldata prints them for the restored directory: known even when the source server is down.
 */
export interface CopyLimits {
  maxConnections: number;
  maxWorkerProcesses: number;
  maxWalSenders: number;
  maxPreparedTransactions: number;
  maxLocksPerTransaction: number;
}

export function parseControlData(text: string): CopyLimits | undefined {
  const get = (name: string): number | undefined => {
    const m = new RegExp(`^${name} setting:\\s+(\\d+)\\s*$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const v = {
    maxConnections: get('max_connections'),
    maxWorkerProcesses: get('max_worker_processes'),
    maxWalSenders: get('max_wal_senders'),
    maxPreparedTransactions: get('max_prepared_xacts'),
    maxLocksPerTransaction: get('max_locks_per_xact'),
  };
  return Object.values(v).every((x) => x !== undefined) ? (v as CopyLimits) : undefined;
}

/** Where the source keeps its auth files and which libraries it preloads (read when it answers; a copy needs them). */
export interface SourceFiles {
  hbaFile: string;
  identFile: string;
  sharedPreloadLibraries: string;
}

export const sourceFilesSql = (): string =>
  `SELECT json_build_object('hbaFile', current_setting('hba_file'), 'identFile', current_setting('ident_file'),
  'sharedPreloadLibraries', current_setting('shared_preload_libraries'));\n`;

/**
 * The postgresql.conf for a restored data directory that has none (Debian keeps it in /etc): the source's limits, so
 * that recovery can start, and its preloaded libraries when known. Used only when the restore brought none.
 */
export function minimalConf(l: CopyLimits, preload: string | undefined): string {
  return [
    '# Written by igbackup for a restored copy (the source keeps its postgresql.conf outside the data directory).',
    `max_connections = ${l.maxConnections}`,
    `max_worker_processes = ${l.maxWorkerProcesses}`,
    `max_wal_senders = ${l.maxWalSenders}`,
    `max_prepared_transactions = ${l.maxPreparedTransactions}`,
    `max_locks_per_transaction = ${l.maxLocksPerTransaction}`,
    ...(preload ? [`shared_preload_libraries = '${preload.replace(/'/g, "''")}'`] : []),
    '',
  ].join('\n');
}

/** pg_hba.conf for a copy when the source's cannot be read: local peer, loopback with passwords. */
export const MINIMAL_HBA = [
  '# Written by igbackup for a restored copy (the source pg_hba.conf could not be read).',
  'local all all peer',
  'host all all 127.0.0.1/32 scram-sha-256',
  'host all all ::1/128 scram-sha-256',
  '',
].join('\n');

/** Settings appended to the copy's postgresql.auto.conf: its own port and socket (in its directory), no archiving. */
export function copyOverrides(dir: string, port: number): string {
  return [
    '',
    "# igbackup restore: a copy on its own port and socket, never archiving into the source's repository",
    `port = ${port}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${dir.replace(/'/g, "''")}'`,
    "archive_mode = 'off'",
    "external_pid_file = ''",
    '',
  ].join('\n');
}

const TARGET = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)$/i;

/**
 * A recovery target as PostgreSQL reads it ("2026-11-27 10:15:38.945+00"), or a problem with the given text: a date
 * and a time of day with its zone, a real calendar date (not 2026-02-30), in the past.
 */
export function parseTarget(text: string, now: Date): { target: string; at: Date } | { problem: string } {
  const t = text.trim();
  const m = TARGET.exec(t);
  if (!m) {
    const why = /(Z|[+-]\d{2}(:?\d{2})?)$/i.test(t) || !/\d{2}:\d{2}/.test(t) ? 'is not a time' : 'has no time zone';
    return { problem: `--to "${text}" ${why}: give a date, a time of day and its zone, e.g. 2026-11-27T10:15:00Z` };
  }
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map((x) => Number(x ?? 0)) as number[];
  const day = new Date(Date.UTC(y as number, (mo as number) - 1, d as number));
  if (
    day.getUTCMonth() !== (mo as number) - 1 ||
    day.getUTCDate() !== d ||
    (h as number) > 23 ||
    (mi as number) > 59 ||
    (sec as number) > 59
  ) {
    return { problem: `--to "${text}" is not a real date and time` };
  }
  const at = new Date(t.replace(' ', 'T').replace(/\s+(?=[Zz+-]\d*)/, ''));
  if (Number.isNaN(at.getTime())) return { problem: `--to "${text}" is not a time: e.g. 2026-11-27T10:15:00Z` };
  if (at.getTime() > now.getTime())
    return { problem: `--to ${at.toISOString()} is in the future: recovery cannot reach it` };
  return { target: at.toISOString().replace('T', ' ').replace('Z', '+00'), at };
}

/**
 * After a restore to the end of the archive: the copy must have replayed at least up to the newest segment the
 * repository held. Stopping earlier means a segment in between is missing or unreadable (PostgreSQL ends recovery at
 * the first segment it cannot fetch and promotes, silently short of the archive's end).
 */
export function endProblem(copyWal: string, walMax: string | undefined): string | undefined {
  if (!walMax) return undefined;
  const reached = segmentNumber(copyWal);
  const newest = segmentNumber(walMax);
  if (reached === undefined || newest === undefined || reached >= newest) return undefined;
  return `recovery ended in WAL segment ${copyWal} but the repository holds WAL up to ${walMax}: a segment in between is missing or unreadable, so the copy lacks what was committed after it`;
}
