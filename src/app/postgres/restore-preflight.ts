// PostgreSQL restore preflight: what the connecting role and the server allow, checked before any download and
// before any database is created (reads only); each failure is a ConfigError naming the privilege or limit and the fix.

import { availableParallelism } from 'node:os';
import { ConfigError, IgbackupError } from '../../domain/errors.js';
import { LIMITS } from '../../domain/limits.js';
import { quoteIdent } from '../../domain/names.js';
import type { Transport } from '../../transports/transport.js';

export interface RestoreFacts {
  user: string;
  superuser: boolean;
  createdb: boolean;
  createrole: boolean;
  /** pg_roles.rolconnlimit: -1 = no limit. */
  connLimit: number;
  /** The server's version number (150008). */
  serverVersionNum: number;
  maxConnections: number;
  reservedConnections: number;
  /** Client backends now, including the session that read these facts. */
  clientConnections: number;
  /** This role's client backends now, including the session that read these facts. */
  roleConnections: number;
  /**
   * The target database when it exists: its owner, whether this role has the owner's privileges, whether it is a
   * template, its per-role settings (ALTER ROLE ... IN DATABASE ... SET), and the roles of sessions on it this role
   * could not end.
   */
  target: {
    owner: string;
    ownerPrivileges: boolean;
    template: boolean;
    roleSettings: number;
    blockingSessions: string[];
  } | null;
  roles: string[];
  tablespaces: string[];
  databases: string[];
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** Parses the one JSON line of pg.sql.restoreFacts (pure); throws on anything else. */
export function parseRestoreFacts(out: string): RestoreFacts {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(out.trim()) as Record<string, unknown>;
  } catch {
    throw new IgbackupError(
      `unexpected answer to the preflight query: ${out.trim().slice(0, 200) || '(no row: the connecting role is not in pg_roles)'}`,
    );
  }
  const nums = [
    'connLimit',
    'serverVersionNum',
    'maxConnections',
    'reservedConnections',
    'clientConnections',
    'roleConnections',
  ];
  const bools = ['superuser', 'createdb', 'createrole'];
  const t = v.target as {
    owner?: unknown;
    ownerPrivileges?: unknown;
    template?: unknown;
    roleSettings?: unknown;
    blockingSessions?: unknown;
  } | null;
  const ok =
    typeof v.user === 'string' &&
    nums.every((k) => typeof v[k] === 'number') &&
    bools.every((k) => typeof v[k] === 'boolean') &&
    (t === null ||
      (typeof t === 'object' &&
        typeof t.owner === 'string' &&
        typeof t.ownerPrivileges === 'boolean' &&
        typeof t.template === 'boolean' &&
        typeof t.roleSettings === 'number' &&
        isStrings(t.blockingSessions))) &&
    isStrings(v.roles) &&
    isStrings(v.tablespaces) &&
    isStrings(v.databases);
  if (!ok) throw new IgbackupError(`unexpected answer to the preflight query: ${out.trim().slice(0, 200)}`);
  return v as unknown as RestoreFacts;
}

export interface RestoreNeeds {
  target: string;
  /** Connections pg_restore opens at once: --jobs N opens N (measured on 15.18: the leader closes its own before
   * the workers connect), a streamed restore 1. */
  connections: number;
  /** Roles the globals would create or alter (0 without --with-globals). */
  rolesToChange: number;
}

interface Problem {
  what: string;
  fix: string;
}

function privilegeProblems(f: RestoreFacts, n: RestoreNeeds): Problem[] {
  const role = quoteIdent(f.user);
  const out: Problem[] = [];
  if (!f.superuser && !f.createdb) {
    out.push({
      what: `role ${role} has no CREATEDB: the restore creates a scratch database and renames it into place`,
      fix: `as a superuser run ALTER ROLE ${role} CREATEDB; (or connect as a role that has it)`,
    });
  }
  if (f.target && !f.target.ownerPrivileges) {
    out.push({
      what: `role ${role} does not own database ${quoteIdent(n.target)} (owner ${quoteIdent(f.target.owner)}) and is not a member of its owner: the swap renames it aside and drops it`,
      fix: `run ALTER DATABASE ${quoteIdent(n.target)} OWNER TO ${role}; or GRANT ${quoteIdent(f.target.owner)} TO ${role}; or restore next to it with --target-db NEW_NAME`,
    });
  }
  if (f.target?.template) {
    out.push({
      what: `database ${quoteIdent(n.target)} is a template (datistemplate): every CREATE DATABASE copies it, and a restore never replaces one`,
      fix: 'restore into another database with --target-db NEW_NAME',
    });
  }
  if (f.target && f.target.blockingSessions.length > 0) {
    out.push({
      what: `sessions of ${f.target.blockingSessions.map(quoteIdent).join(', ')} are connected to ${quoteIdent(n.target)} and role ${role} may not end them: the swap could not rename it`,
      fix: `end those sessions first, restore as a superuser, or restore next to it with --target-db NEW_NAME`,
    });
  }
  if (f.target && f.target.roleSettings > 0 && !f.superuser && !f.createrole) {
    out.push({
      what: `database ${quoteIdent(n.target)} has ${f.target.roleSettings} per-role setting(s) (ALTER ROLE ... IN DATABASE ... SET) that the swap carries over, which needs CREATEROLE`,
      fix: `as a superuser run ALTER ROLE ${role} CREATEROLE; or restore next to it with --target-db NEW_NAME`,
    });
  }
  if (n.rolesToChange > 0 && !f.superuser && !f.createrole) {
    out.push({
      what: `role ${role} has no CREATEROLE: --with-globals would create or change ${n.rolesToChange} role(s)`,
      fix: `as a superuser run ALTER ROLE ${role} CREATEROLE; or restore without --with-globals`,
    });
  }
  return out;
}

function connectionProblems(f: RestoreFacts, n: RestoreNeeds): Problem[] {
  const role = quoteIdent(f.user);
  const out: Problem[] = [];
  const jobsFix = (room: number): string =>
    n.connections > 1 && room >= 1 ? `restore with --jobs ${room}` : 'end idle sessions';
  if (f.connLimit >= 0) {
    const room = f.connLimit - (f.roleConnections - 1);
    if (n.connections > room) {
      out.push({
        what: `role ${role} has CONNECTION LIMIT ${f.connLimit} with ${f.roleConnections - 1} other session(s) open: pg_restore needs ${n.connections} connection(s)`,
        fix: `${jobsFix(room)}, or run ALTER ROLE ${role} CONNECTION LIMIT ${f.roleConnections - 1 + n.connections};`,
      });
    }
  }
  const reserved = f.superuser ? 0 : f.reservedConnections;
  const free = f.maxConnections - reserved - (f.clientConnections - 1);
  if (n.connections > free) {
    out.push({
      what: `the server has ${Math.max(0, free)} free connection(s) for this role (max_connections ${f.maxConnections}${reserved ? `, ${reserved} reserved for superusers` : ''}, ${f.clientConnections - 1} in use): pg_restore needs ${n.connections}`,
      fix: `${jobsFix(free)}, or raise max_connections on the server`,
    });
  }
  return out;
}

/** The preflight's verdict (pure): a ConfigError listing every failed check with its fix, or undefined. */
export function restoreShortcomings(f: RestoreFacts, n: RestoreNeeds): ConfigError | undefined {
  const problems = [...privilegeProblems(f, n), ...connectionProblems(f, n)];
  const first = problems[0];
  if (!first) return undefined;
  return new ConfigError(
    `restore preflight: ${first.what}${problems.length > 1 ? ` (and ${problems.length - 1} more problem(s))` : ''}; nothing was downloaded or changed`,
    problems.map((p) => `${p.what}: ${p.fix}`),
    { hint: problems.map((p) => p.fix).join('; and ') },
  );
}

/**
 * --jobs N > 1 needs pg_restore to read a seekable file where it runs; over SSH or Kubernetes it reads the stream on
 * its stdin, where it can use one job only. Refused before anything runs rather than silently ignored.
 */
export function checkJobs(jobs: number | undefined, transport: string): void {
  if (jobs === undefined) return;
  const { min, max } = LIMITS.restoreJobs;
  if (!Number.isInteger(jobs) || jobs < min || jobs > max)
    throw new ConfigError(`--jobs ${jobs}: expected a whole number from ${min} to ${max}`);
  if (jobs > 1 && transport !== 'local') {
    throw new ConfigError(
      `--jobs ${jobs} cannot be honoured over the ${transport} transport: there pg_restore reads the archive as a stream on its stdin, which allows one job only`,
      [],
      {
        hint: 'omit --jobs (or pass --jobs 1) to restore over the stream; for a parallel restore run igbackup on the database host with transport: local',
      },
    );
  }
}

/** "auto" = one job per core (2..4) when pg_restore runs on this machine and can read a temp file; else streaming. */
export function restoreJobs(setting: number | 'auto', transport: Transport): number {
  if (transport.kind !== 'local') return 1;
  if (setting === 'auto') return Math.max(2, Math.min(4, availableParallelism()));
  return setting;
}

/**
 * A target name PostgreSQL would take differently than given, or that igbackup must never replace: refused (exit 2)
 * before anything runs.
 */
export function checkTargetName(target: string, maintenanceDb: string, env: string, explicit: boolean): void {
  if (target.length === 0)
    throw new ConfigError('--target-db is empty', [], { hint: 'give the name of the database to restore into' });
  const bytes = Buffer.byteLength(target);
  if (bytes > 63 && explicit) {
    throw new ConfigError(
      `the target database name is ${bytes} bytes long; PostgreSQL names are at most 63 bytes and it would silently use only the first 63`,
      [],
      {
        hint: 'choose a name of at most 63 bytes with --target-db',
      },
    );
  }
  if (target === maintenanceDb) {
    throw new ConfigError(
      `the target database "${target}" is the maintenance database igbackup connects to (envs.${env}.postgres.maintenanceDatabase): it cannot be renamed or replaced while connected`,
      [],
      {
        hint: 'restore into another database with --target-db, or set postgres.maintenanceDatabase to another database (e.g. template1 or postgres)',
      },
    );
  }
}

/** The name PostgreSQL uses for `name`: at most 63 bytes, cut at a character boundary (as the server does). */
export function serverName(name: string): string {
  const chars = Array.from(name);
  while (Buffer.byteLength(chars.join('')) > 63) chars.pop();
  return chars.join('');
}
