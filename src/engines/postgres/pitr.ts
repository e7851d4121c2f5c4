// Point-in-time recovery through pgBackRest, as data: the pgbackrest.conf igbackup renders from igbackup.yaml, the
// pgBackRest and file commands (run where PostgreSQL runs, as the data directory's owner), the SQL that reads the
// server's archiving settings, and the judgements over what they return. igbackup never ships WAL itself.

import { posix } from 'node:path';
import type { CommandSpec } from '../../domain/command.js';
import { joinKey } from '../../domain/keys.js';
import { quoteLiteral } from '../../domain/names.js';
import type { PitrConfig } from '../../config/sections/pitr.js';

/** Where the repository lives in the bucket: beside the env's folder, not in it (its lifecycle would archive WAL). */
export function repoPath(storePrefix: string, env: string, cluster: string): string {
  return `/${joinKey(storePrefix, 'pgbackrest', env, cluster)}`;
}

/** The PITR settings of one env, its pgbackrest.conf path decided (withConfPath). */
export type EnvPitr = PitrConfig & { configFile: string };

/**
 * One pgbackrest.conf per env and cluster unless pitr.configFile names one: two envs pointing at one server never
 * overwrite each other's repository settings (the second finds the first's archive_command and is refused instead).
 */
export function withConfPath(p: PitrConfig, env: string): EnvPitr {
  return { ...p, configFile: p.configFile ?? posix.join(p.workDir, `pgbackrest-${env}-${p.cluster}.conf`) };
}

export function confPath(p: EnvPitr): string {
  return p.configFile;
}

/** The S3 repository as the env's storage section describes it. */
export interface RepoTarget {
  bucket: string;
  region: string;
  endpoint?: string | undefined;
  forcePathStyle?: boolean | undefined;
  /** Resolved path of the CA file on the database host. */
  caFile?: string | undefined;
  kmsKeyId: string;
  path: string;
}

export interface RepoSecrets {
  accessKeyId?: string | undefined;
  secretAccessKey?: string | undefined;
  cipherPass?: string | undefined;
}

/** pgbackrest.conf (mode 600 on the host: it holds the repository's credentials). */
export function renderConf(x: {
  pitr: PitrConfig;
  repo: RepoTarget;
  secrets: RepoSecrets;
  port: number;
  user: string;
  /** The env's retention.keepDays: the default retention of base backups. */
  keepDays: number;
}): string {
  const p = x.pitr;
  const global = globalOptions(p, x.repo, x.secrets, x.keepDays);
  const stanza: Option[] = [
    ['pg1-path', p.dataDir],
    ['pg1-port', x.port],
    ['pg1-user', x.user],
    ['pg1-socket-path', p.socketDir],
  ];
  const lines = (kv: Option[]): string[] =>
    kv.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => `${k}=${String(v)}`);
  return [
    '# Written by igbackup (pitr enable) from igbackup.yaml; changes here are overwritten.',
    '[global]',
    ...lines(global),
    '',
    `[${p.cluster}]`,
    ...lines(stanza),
    '',
  ].join('\n');
}

type Option = [string, string | number | undefined];

/** The [global] section: the S3 repository, its encryption and credentials, and how pgBackRest runs. */
function globalOptions(p: PitrConfig, repo: RepoTarget, secrets: RepoSecrets, keepDays: number): Option[] {
  const url = repo.endpoint ? new URL(repo.endpoint) : undefined;
  return [
    ['repo1-type', 's3'],
    ['repo1-s3-bucket', repo.bucket],
    ['repo1-s3-region', repo.region],
    ['repo1-s3-endpoint', url ? url.hostname : `s3.${repo.region}.amazonaws.com`],
    ['repo1-storage-port', url?.port || undefined],
    ['repo1-s3-uri-style', (repo.forcePathStyle ?? Boolean(url)) ? 'path' : 'host'],
    ['repo1-storage-ca-file', repo.caFile],
    ['repo1-s3-kms-key-id', repo.kmsKeyId],
    ['repo1-path', repo.path],
    ...(secrets.accessKeyId
      ? ([
          ['repo1-s3-key', secrets.accessKeyId],
          ['repo1-s3-key-secret', secrets.secretAccessKey],
        ] as [string, string | undefined][])
      : ([['repo1-s3-key-type', 'auto']] as [string, string][])),
    ...(secrets.cipherPass
      ? ([
          ['repo1-cipher-type', 'aes-256-cbc'],
          ['repo1-cipher-pass', secrets.cipherPass],
        ] as [string, string][])
      : []),
    // A count when configured; else time-based from the env's retention (any moment of the last keepDays days).
    ...((p.retentionFull !== undefined
      ? [['repo1-retention-full', p.retentionFull]]
      : [
          ['repo1-retention-full-type', 'time'],
          ['repo1-retention-full', Math.max(1, keepDays)],
        ]) as Option[]),
    ['log-path', posix.join(p.workDir, 'log')],
    ['lock-path', posix.join(p.workDir, 'lock')],
    ['spool-path', posix.join(p.workDir, 'spool')],
    ['archive-async', 'y'],
    // Small files bundled into few objects: a restore makes a request per object (measured: 964 files, 37 s → 0.6 s).
    ['repo1-bundle', 'y'],
    ['process-max', p.processMax],
    ['compress-type', p.compressType],
    ['start-fast', 'y'],
    ['log-level-console', 'warn'],
    ['log-level-file', 'info'],
  ];
}

/** Characters a value in pgbackrest.conf must not hold (one option per line, no continuation). */
export function unsafeConfValue(v: string): boolean {
  return /[\r\n]/.test(v);
}

/** pgBackRest with the rendered config and the stanza; `env` carries the database password (never argv). */
export function pgbackrest(p: EnvPitr, args: string[], env: Record<string, string> = {}): CommandSpec {
  return { argv: [...p.runAs, p.pgbackrest, `--config=${confPath(p)}`, `--stanza=${p.cluster}`, ...args], env };
}

/** What PostgreSQL runs for each WAL segment (as the server's own user: no runAs). */
export function archiveCommand(p: EnvPitr): string {
  return `${p.pgbackrest} --config=${confPath(p)} --stanza=${p.cluster} archive-push %p`;
}

/** Where igbackup puts the bucket's CA certificate on the host (storage.caFile, copied there). */
export function caPath(p: PitrConfig): string {
  return posix.join(p.workDir, 's3-ca.pem');
}

/**
 * Writes stdin to `path` on the host atomically, readable by its owner only, creating the work directories (log,
 * lock, spool) and the file's directory first; runs as runAs.
 */
export function writeFileCommand(p: PitrConfig, path: string): CommandSpec {
  const script =
    'umask 077 && mkdir -p "$1" "$2/log" "$2/lock" "$2/spool" && cat > "$3.igbackup-new" && mv -f "$3.igbackup-new" "$3"';
  return { argv: [...p.runAs, 'sh', '-c', script, 'sh', posix.dirname(path), p.workDir, path] };
}

/**
 * Runs a command that may leave a daemon behind (a server start or restart) with its output in a temporary file, printed
 * once the command has exited: a server that keeps the output it inherited open can then never hold the transport's
 * pipes (over SSH that would keep the channel open for good).
 */
export function detached(argv: string[]): CommandSpec {
  const script = 'l=$(mktemp) || exit 125; "$@" > "$l" 2>&1 < /dev/null; rc=$?; cat "$l"; rm -f "$l"; exit "$rc"';
  return { argv: ['sh', '-c', script, 'sh', ...argv] };
}

/** pg_ctl of `pgBin` on the data directory `dir`, as runAs. */
export function pgCtl(p: PitrConfig, pgBin: string, dir: string, ...args: string[]): CommandSpec {
  return { argv: [...p.runAs, posix.join(pgBin, 'pg_ctl'), '-D', dir, ...args] };
}

/** Stops the server on `dir` at once, without a checkpoint: a copy being discarded, or data being put back. */
export function stopNowCommand(p: PitrConfig, pgBin: string, dir: string): CommandSpec {
  return pgCtl(p, pgBin, dir, '-m', 'immediate', '-w', 'stop');
}

/** pg_isready on a loopback port of the host: exit 2 when nothing answers there. */
export function readyCommand(binDir: string | undefined, port: number): CommandSpec {
  const bin = binDir ? posix.join(binDir, 'pg_isready') : 'pg_isready';
  return { argv: [bin, '-q', '-h', '127.0.0.1', '-p', String(port), '-t', '2'] };
}

/** pgBackRest's version ("pgBackRest 2.45"), run as runAs. */
export function versionCommand(p: PitrConfig): CommandSpec {
  return { argv: [...p.runAs, p.pgbackrest, 'version'] };
}

/** The server's settings that archiving depends on, as one JSON line. */
export const pitrSql = {
  settings: (): string =>
    `SELECT json_build_object('walLevel', current_setting('wal_level'), 'archiveMode', current_setting('archive_mode'),
  'archiveCommand', current_setting('archive_command'),
  'archiveTimeoutSec', (SELECT setting::int FROM pg_settings WHERE name = 'archive_timeout'),
  'dataDirectory', current_setting('data_directory'), 'superuser', (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
  'versionNum', current_setting('server_version_num')::int, 'inRecovery', pg_is_in_recovery());\n`,
  /** Sets what a reload applies: the archive command and the WAL switch interval (ALTER SYSTEM needs a superuser). */
  configure: (p: EnvPitr): string =>
    `ALTER SYSTEM SET archive_command = ${quoteLiteral(archiveCommand(p))};\n` +
    `ALTER SYSTEM SET archive_timeout = ${quoteLiteral(`${p.archiveTimeoutSec}s`)};\n` +
    `SELECT pg_reload_conf();\n`,
  /** What restart-only settings need (archive_mode, wal_level), applied at the next restart. */
  configureRestart: (walLevel: boolean): string =>
    `ALTER SYSTEM SET archive_mode = 'on';\n${walLevel ? "ALTER SYSTEM SET wal_level = 'replica';\n" : ''}`,
  /**
   * The heartbeat (scheduled every minute): one row per env with the time of its last beat, in the maintenance
   * database. A physical drill reads it from the restored copy: the newest beat present there is what was recovered.
   */
  heartbeat: (env: string): string =>
    `CREATE TABLE IF NOT EXISTS igbackup_heartbeat (env text PRIMARY KEY, at timestamptz NOT NULL);\n` +
    `INSERT INTO igbackup_heartbeat (env, at) VALUES (${quoteLiteral(env)}, clock_timestamp()) ` +
    `ON CONFLICT (env) DO UPDATE SET at = EXCLUDED.at RETURNING to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');\n`,
  /** The last beat of an env present in a (restored) server, or no row. */
  lastBeat: (env: string): string =>
    `SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') FROM igbackup_heartbeat WHERE env = ${quoteLiteral(env)};\n`,
  /** The archiver's state against the current WAL position, as one JSON line (see FACTS.md: no times in info). */
  archiver: (): string =>
    `SELECT json_build_object('archived', a.archived_count, 'lastArchivedWal', a.last_archived_wal,
  'lastArchivedAt', a.last_archived_time, 'failed', a.failed_count, 'lastFailedWal', a.last_failed_wal,
  'lastFailedAt', a.last_failed_time, 'currentWal', CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END,
  'now', now()) FROM pg_stat_archiver a;\n`,
};

export interface PitrSettings {
  walLevel: string;
  archiveMode: string;
  archiveCommand: string;
  archiveTimeoutSec: number;
  dataDirectory: string;
  superuser: boolean;
  versionNum: number;
  inRecovery: boolean;
}

/** What `pitr enable` must do on this server, or why it must not (pure). */
export interface EnablePlan {
  /** Another archiver owns archive_command: reported, never overridden. */
  foreign?: string | undefined;
  /** Settings that need a restart (archive_mode, wal_level), by name. */
  restart: string[];
  /** archive_command / archive_timeout differ from what igbackup sets (a reload applies them). */
  reload: boolean;
  problems: string[];
}

export function planEnable(s: PitrSettings, p: EnvPitr): EnablePlan {
  const problems: string[] = [];
  if (!s.superuser) problems.push('the connecting role is not a superuser (ALTER SYSTEM and pg_reload_conf need one)');
  if (s.inRecovery) problems.push('the server is a standby: enable archiving on the primary');
  if (s.dataDirectory.replace(/\/+$/, '') !== p.dataDir.replace(/\/+$/, '')) {
    problems.push(
      `pitr.dataDir is ${p.dataDir} but the server's data_directory is ${s.dataDirectory} (set pitr.dataDir to it)`,
    );
  }
  const ours = archiveCommand(p);
  const cmd = s.archiveCommand.trim();
  const foreign = cmd !== '' && cmd !== '(disabled)' && cmd !== ours ? cmd : undefined;
  const restart = [
    ...(s.archiveMode === 'off' ? ['archive_mode'] : []),
    ...(s.walLevel === 'minimal' ? ['wal_level'] : []),
  ];
  const reload = cmd !== ours || s.archiveTimeoutSec !== p.archiveTimeoutSec;
  return { foreign, restart, reload, problems };
}
