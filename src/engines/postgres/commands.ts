// PostgreSQL engine: the commands and SQL for backup (pg_dump -Fc), globals, size estimate and a safe restore, as data.

import { quoteIdent, quoteLiteral } from '../../domain/names.js';
import type { CommandSpec } from '../../domain/command.js';

export interface PgConnection {
  host: string;
  port: number;
  user: string;
  sslmode?: string | undefined;
  binDir?: string | undefined;
  /** Resolved password; travels in the child's environment (PGPASSWORD), never in argv. */
  password?: string | undefined;
}

export const ARTIFACT_FORMAT = 'pg_dump-custom';
export const DUMP_EXTENSION = '.dump';
export const GLOBALS_EXTENSION = '.globals.sql';

/** Quotes a value for a libpq connection string. */
export function conninfoValue(v: string): string {
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A libpq connection string; the database name is quoted, so "=", spaces or quotes in it are taken literally. */
export function conninfo(c: PgConnection, database: string, settings: Record<string, string> = {}): string {
  const parts: [string, string][] = [
    ['host', c.host],
    ['port', String(c.port)],
    ['user', c.user],
    ['dbname', database],
    ['connect_timeout', '15'],
  ];
  if (c.sslmode) parts.push(['sslmode', c.sslmode]);
  // Session settings (names and values are checked by the config schema: no spaces, no quotes).
  const options = Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`);
  if (options.length) parts.push(['options', options.join(' ')]);
  return parts.map(([k, v]) => `${k}=${conninfoValue(v)}`).join(' ');
}

function bin(c: PgConnection, program: string): string {
  return c.binDir ? `${c.binDir.replace(/\/+$/, '')}/${program}` : program;
}

function secretEnv(c: PgConnection): Record<string, string> {
  return c.password === undefined ? {} : { PGPASSWORD: c.password };
}

/** pg_dump in custom format, uncompressed (compression happens on the runner), to stdout. */
/** What every custom-format archive starts with (pg_backup_archiver.c). */
export const DUMP_MAGIC = { bytes: Buffer.from('PGDMP'), format: 'pg_dump custom-format archive' };

export function dumpCommand(c: PgConnection, database: string, lockWaitTimeoutSec = 300): CommandSpec {
  return {
    argv: [
      bin(c, 'pg_dump'),
      '--format=custom',
      '--compress=0',
      '--no-password',
      `--lock-wait-timeout=${lockWaitTimeoutSec}s`,
      `--dbname=${conninfo(c, database)}`,
    ],
    env: secretEnv(c),
  };
}

/** Roles and tablespaces (pg_dump never carries them). */
export function globalsCommand(c: PgConnection, maintenanceDb: string): CommandSpec {
  return {
    argv: [bin(c, 'pg_dumpall'), '--globals-only', '--no-password', `--dbname=${conninfo(c, maintenanceDb)}`],
    env: secretEnv(c),
  };
}

export function versionCommand(
  c: PgConnection,
  program: 'pg_dump' | 'pg_restore' | 'psql' | 'pg_dumpall',
): CommandSpec {
  return { argv: [bin(c, program), '--version'] };
}

/** psql reading SQL from stdin, stopping at the first error, printing unaligned tuples only. */
export function psqlCommand(c: PgConnection, database: string, stopOnError = true): CommandSpec {
  return {
    argv: [
      bin(c, 'psql'),
      '-X',
      '-q',
      '-A',
      '-t',
      '-v',
      `ON_ERROR_STOP=${stopOnError ? 1 : 0}`,
      '--no-password',
      `--dbname=${conninfo(c, database)}`,
      '-f',
      '-',
    ],
    env: secretEnv(c),
  };
}

/**
 * pg_restore into an existing database; from stdin, or from a file when running parallel jobs. `settings` are
 * session settings for its connections (e.g. maintenance_work_mem for the index builds).
 */
export function restoreCommand(
  c: PgConnection,
  database: string,
  opts: { jobs: number; file?: string; noOwner?: boolean; settings?: Record<string, string> },
): CommandSpec {
  const argv = [
    bin(c, 'pg_restore'),
    '--exit-on-error',
    '--no-password',
    `--dbname=${conninfo(c, database, opts.settings)}`,
  ];
  if (opts.noOwner) argv.push('--no-owner', '--no-privileges');
  if (opts.file) {
    if (opts.jobs > 1) argv.push(`--jobs=${opts.jobs}`);
    argv.push(opts.file);
  }
  return { argv, env: secretEnv(c), stdin: opts.file ? 'ignore' : 'pipe' };
}

/** pg_restore --list on a file: reads the archive's table of contents only (not the data blocks). */
export function listCommand(c: PgConnection, file: string): CommandSpec {
  return { argv: [bin(c, 'pg_restore'), '--list', file] };
}

/**
 * pg_restore turning the whole archive into SQL on /dev/null: reads and decodes every data block the table of
 * contents names, touching no database. A dump cut short fails here ("could not read from input file: end of
 * file", "could not find block ID"), although its table of contents lists fine.
 */
export function readAllCommand(c: PgConnection, file: string): CommandSpec {
  return { argv: [bin(c, 'pg_restore'), '--file=/dev/null', file] };
}

/** Counts a `pg_restore --list` output's entries and, among them, those that carry data blocks (tables, large objects). */
export function parseArchiveList(out: string): { entries: number; dataEntries: number } {
  const lines = out.split('\n').filter((l) => /^\d+;/.test(l));
  return {
    entries: lines.length,
    dataEntries: lines.filter((l) => /^\d+; \d+ \d+ (TABLE DATA|BLOBS) /.test(l)).length,
  };
}

/** Says what a failed full read of an archive means, when pg_restore's words show it ran out of data. */
export function explainReadFailure(stderr: string): string | undefined {
  if (/end of file|could not find block ID|unexpected EOF|could not read from input file/i.test(stderr)) {
    return 'the archive ends before all the data its table of contents names: it was cut short when it was taken (a producer that stopped early but exited 0)';
  }
  return undefined;
}

/**
 * SQL: whether role row `me` (pg_roles) may end session row `a` (pg_stat_activity) with pg_terminate_backend — a
 * superuser may end any; others only non-superuser sessions of roles they belong to, or with pg_signal_backend.
 */
function mayEnd(me: string, a: string): string {
  return `(${me}.rolsuper OR (${a}.usesysid NOT IN (SELECT oid FROM pg_roles WHERE rolsuper) AND (pg_has_role(${me}.oid, ${a}.usesysid, 'MEMBER') OR pg_has_role(${me}.oid, 'pg_signal_backend', 'MEMBER'))))`;
}

export const sql = {
  databaseSize: (db: string): string => `SELECT pg_database_size(${quoteLiteral(db)});\n`,
  serverVersion: (): string => `SHOW server_version;\n`,
  /** Encoding and locale of an existing database, tab-separated, or no row. */
  databaseSettings: (db: string): string =>
    `SELECT pg_encoding_to_char(encoding) || '|' || datcollate || '|' || datctype FROM pg_database WHERE datname = ${quoteLiteral(db)};\n`,
  databaseExists: (db: string): string => `SELECT 1 FROM pg_database WHERE datname = ${quoteLiteral(db)};\n`,
  /**
   * Which of these databases exist: the 1-based positions in `dbs`, one per line. Compared as the server does
   * (`::name`, so a name longer than 63 bytes matches the truncated name PostgreSQL created and connects to).
   */
  /** Whether the connecting role is a superuser and whether it may read every table (t|f per answer). */
  dumpPrivileges: (): string =>
    `SELECT r.rolsuper, pg_has_role(current_user, 'pg_read_all_data', 'MEMBER') FROM pg_roles r WHERE r.rolname = current_user;\n`,
  /** The server's version number (150008), on a line of its own that starts with "server ". */
  serverVersionNum: (): string => `SELECT 'server ' || current_setting('server_version_num');\n`,
  existingDatabases: (dbs: string[]): string =>
    `SELECT i FROM unnest(ARRAY[${dbs.map(quoteLiteral).join(', ')}]::text[]) WITH ORDINALITY AS t(n, i) WHERE EXISTS (SELECT 1 FROM pg_database WHERE datname = n::name) ORDER BY i;\n`,
  createDatabase: (db: string, settings?: { encoding: string; collate: string; ctype: string }): string =>
    settings
      ? `CREATE DATABASE ${quoteIdent(db)} TEMPLATE template0 ENCODING ${quoteLiteral(settings.encoding)} LC_COLLATE ${quoteLiteral(settings.collate)} LC_CTYPE ${quoteLiteral(settings.ctype)};\n`
      : `CREATE DATABASE ${quoteIdent(db)} TEMPLATE template0;\n`,
  /**
   * What a restore's preflight needs, as one JSON line (names JSON-escaped, so quotes or newlines in them are safe):
   * the connecting role's attributes and connection limit, the server's free connections, the target's owner and
   * whether this role has its privileges, and the roles, tablespaces and databases that exist. Reads only.
   * Without pg_read_all_stats, other roles' sessions show no backend_type (measured on 15.18): those attached to a
   * database are counted as clients (autovacuum or parallel workers among them make the count err on the safe side).
   */
  restoreFacts: (target: string): string =>
    `SELECT json_build_object(
  'user', r.rolname, 'superuser', r.rolsuper, 'createdb', r.rolcreatedb, 'createrole', r.rolcreaterole, 'connLimit', r.rolconnlimit,
  'serverVersionNum', current_setting('server_version_num')::int,
  'maxConnections', current_setting('max_connections')::int,
  'reservedConnections', current_setting('superuser_reserved_connections')::int,
  'clientConnections', (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' OR (backend_type IS NULL AND datname IS NOT NULL)),
  'roleConnections', (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND usesysid = r.oid),
  'target', (SELECT json_build_object('owner', pg_get_userbyid(d.datdba), 'ownerPrivileges', pg_has_role(r.oid, d.datdba, 'USAGE'),
               'template', d.datistemplate,
               'roleSettings', (SELECT count(*) FROM pg_db_role_setting WHERE setdatabase = d.oid AND setrole <> 0),
               'blockingSessions', (SELECT coalesce(json_agg(DISTINCT a.usename), '[]') FROM pg_stat_activity a
                  WHERE a.datname = d.datname AND a.pid <> pg_backend_pid() AND (a.backend_type = 'client backend' OR a.backend_type IS NULL)
                    AND NOT ${mayEnd('r', 'a')}))
             FROM pg_database d WHERE d.datname = ${quoteLiteral(target)}),
  'roles', (SELECT coalesce(json_agg(rolname ORDER BY rolname), '[]') FROM pg_roles),
  'tablespaces', (SELECT coalesce(json_agg(spcname ORDER BY spcname), '[]') FROM pg_tablespace),
  'databases', (SELECT coalesce(json_agg(datname ORDER BY datname), '[]') FROM pg_database))
FROM pg_roles r WHERE r.rolname = current_user;\n`,
  dropDatabase: (db: string): string => `DROP DATABASE IF EXISTS ${quoteIdent(db)} WITH (FORCE);\n`,
  /** Without FORCE: what a role may run that cannot end other processes (DROP DATABASE still ends autovacuum). */
  dropDatabasePlain: (db: string): string => `DROP DATABASE IF EXISTS ${quoteIdent(db)};\n`,
  /** How many client sessions are connected to db (besides this one). */
  sessionsOn: (db: string): string =>
    `SELECT count(*) FROM pg_stat_activity WHERE datname = ${quoteLiteral(db)} AND pid <> pg_backend_pid() AND (backend_type = 'client backend' OR backend_type IS NULL);\n`,
  /**
   * Gives `restored` the database-level properties of `target` that pg_restore does not carry: owner, privileges
   * (GRANT/REVOKE ... ON DATABASE), connection limit, settings (ALTER DATABASE ... SET and ALTER ROLE ... IN DATABASE
   * ... SET), comment, and ALLOW_CONNECTIONS false — so the swapped-in database is what the old one was, with new data.
   * One DO block, run in the swap's transaction; list-valued settings (search_path and the like) keep their form.
   */
  copyDatabaseProperties: (target: string, restored: string): string => `DO $igb$
DECLARE
  src oid := (SELECT oid FROM pg_database WHERE datname = ${quoteLiteral(target)});
  dst text := ${quoteLiteral(restored)};
  d record; a record; s record; k text; v text; c text;
BEGIN
  SELECT * INTO d FROM pg_database WHERE oid = src;
  EXECUTE format('ALTER DATABASE %I OWNER TO %I', dst, pg_get_userbyid(d.datdba));
  EXECUTE format('ALTER DATABASE %I CONNECTION LIMIT %s', dst, d.datconnlimit);
  IF d.datacl IS NOT NULL THEN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', dst);
    FOR a IN SELECT * FROM aclexplode(d.datacl) LOOP
      EXECUTE format('GRANT %s ON DATABASE %I TO %s%s', a.privilege_type, dst,
        CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
        CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
    END LOOP;
  END IF;
  FOR s IN SELECT setrole, unnest(setconfig) AS kv FROM pg_db_role_setting WHERE setdatabase = src LOOP
    k := split_part(s.kv, '=', 1);
    v := substr(s.kv, length(k) + 2);
    c := CASE WHEN k IN ('search_path', 'temp_tablespaces', 'session_preload_libraries', 'local_preload_libraries') THEN v ELSE quote_literal(v) END;
    IF s.setrole = 0 THEN
      EXECUTE format('ALTER DATABASE %I SET %I = %s', dst, k, c);
    ELSE
      EXECUTE format('ALTER ROLE %I IN DATABASE %I SET %I = %s', pg_get_userbyid(s.setrole), dst, k, c);
    END IF;
  END LOOP;
  IF shobj_description(src, 'pg_database') IS NOT NULL THEN
    EXECUTE format('COMMENT ON DATABASE %I IS %L', dst, shobj_description(src, 'pg_database'));
  END IF;
  IF NOT d.datallowconn THEN
    EXECUTE format('ALTER DATABASE %I ALLOW_CONNECTIONS false', dst);
  END IF;
END
$igb$;
`,
  /**
   * Puts the restored database in place of the target in one transaction: the old one is renamed aside
   * (after ending its sessions) so a failure leaves either the old or the new database under the name.
   */
  swap: (target: string, restored: string, aside: string, targetExists: boolean): string =>
    [
      // Only sessions this role may end (a non-superuser cannot end a superuser's; the preflight refused those).
      targetExists
        ? `SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a JOIN pg_roles me ON me.rolname = current_user WHERE a.datname = ${quoteLiteral(target)} AND a.pid <> pg_backend_pid() AND ${mayEnd('me', 'a')};`
        : '',
      'BEGIN;',
      targetExists ? sql.copyDatabaseProperties(target, restored).trim() : '',
      targetExists ? `ALTER DATABASE ${quoteIdent(target)} RENAME TO ${quoteIdent(aside)};` : '',
      `ALTER DATABASE ${quoteIdent(restored)} RENAME TO ${quoteIdent(target)};`,
      'COMMIT;',
      '',
    ]
      .filter((l) => l !== '')
      .join('\n'),
};

/** Parses "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" into "15.18". */
export function parseToolVersion(output: string): string {
  const m = /\)\s+(\d+(?:\.\d+)*)/.exec(output) ?? /(\d+\.\d+(?:\.\d+)?)/.exec(output);
  return m?.[1] ?? output.trim();
}

/** Name for a scratch database that sorts next to the target and fits in 63 bytes. */
export function scratchName(target: string, purpose: 'restore' | 'old' | 'drill', stamp: string): string {
  const suffix = `__igb_${purpose}_${stamp}`;
  const room = 63 - Buffer.byteLength(suffix);
  let base = target;
  while (Buffer.byteLength(base) > room) base = base.slice(0, -1);
  return `${base}${suffix}`;
}
