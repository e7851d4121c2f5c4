// The PostgreSQL backup plan (data): the client tools' versions, every database to back up exists, then per database
// its size and the server version, the custom-format dump and, with globals, roles and tablespaces beside it.

import type { PostgresConfig } from '../../config/sections/postgres.js';
import type { BackupPlan, Facts, Problem, Read, UnitPlan } from '../backup-plan.js';
import * as pg from './commands.js';
import { clientTooOld } from './versions.js';

export interface PostgresBackupInput {
  cfg: PostgresConfig;
  conn: pg.PgConnection;
  env: string;
  configFile: string;
  units: string[];
  globals: boolean;
  /** Where the tools run, for the hints ("db.example:22"). */
  host: string;
}

export function postgresBackupPlan(x: PostgresBackupInput): BackupPlan {
  const programs: ('pg_dump' | 'pg_dumpall')[] = x.globals ? ['pg_dump', 'pg_dumpall'] : ['pg_dump'];
  return {
    units: x.units,
    tools: programs.map((p) => toolRead(x, p)),
    checks: [databasesExist(x)],
    unit: (database) => unitPlan(x, database),
  };
}

function toolRead(x: PostgresBackupInput, program: 'pg_dump' | 'pg_dumpall'): Read {
  return {
    kind: 'read',
    what: program,
    command: pg.versionCommand(x.conn, program),
    parse: (out) => ({ [program]: pg.parseToolVersion(out) }),
    hint: `install the PostgreSQL client (${program}) on ${x.host} or set postgres.binDir`,
  };
}

/** Every database to back up must exist on the server: an unknown one is a config error before anything runs. */
function databasesExist(x: PostgresBackupInput): Read {
  const { conn, cfg } = x;
  return {
    kind: 'read',
    what: `psql (connecting to ${conn.host}:${conn.port}/${cfg.maintenanceDatabase})`,
    command: pg.psqlCommand(conn, cfg.maintenanceDatabase),
    stdin: pg.sql.serverVersionNum() + pg.sql.existingDatabases(x.units),
    hint: `check that the server answers and ${conn.user} may connect to ${cfg.maintenanceDatabase} (postgres.maintenanceDatabase); psql must be installed on ${x.host} (or postgres.binDir set)`,
    parse: (out, tools): Facts | Problem => {
      const lines = out
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
      const serverNum = Number(lines.find((l) => l.startsWith('server '))?.slice(7));
      for (const program of x.globals ? (['pg_dump', 'pg_dumpall'] as const) : (['pg_dump'] as const)) {
        const old = clientTooOld(program, tools[program], serverNum, {
          host: x.host,
          server: `${conn.host}:${conn.port}`,
        });
        if (old) return { config: true, ...old };
      }
      const found = new Set(lines);
      const missing = x.units.filter((_, i) => !found.has(String(i + 1)));
      if (!missing.length) return {};
      return {
        config: true,
        problem: `database(s) ${missing.map((d) => JSON.stringify(d)).join(', ')} not found on ${conn.host}:${conn.port}: nothing was backed up`,
        hint: `create them, or remove them from envs.${x.env}.postgres.databases in ${x.configFile}`,
      };
    },
  };
}

function unitPlan(x: PostgresBackupInput, database: string): UnitPlan {
  const { conn, cfg } = x;
  const size: Read = {
    kind: 'read',
    what: `the size of ${database}`,
    command: pg.psqlCommand(conn, cfg.maintenanceDatabase),
    stdin: pg.sql.databaseSize(database) + pg.sql.serverVersion(),
    parse: (out): Facts | Problem => {
      const [bytes, version] = out.trim().split('\n');
      if (!Number.isFinite(Number(bytes))) return { problem: out.trim().split('\n')[0] || 'no output' };
      return version ? { bytes: String(Number(bytes)), server: version.trim() } : { bytes: String(Number(bytes)) };
    },
    warn: (why) => `could not read the size of ${database} (${why}); sizing upload parts for 1 TiB`,
  };
  return {
    steps: [size],
    format: pg.ARTIFACT_FORMAT,
    address: `${conn.host}:${conn.port}`,
    sizeEstimate: (f) => (f.bytes === undefined ? undefined : Number(f.bytes)),
    manifestFacts: (f): Record<string, string> => (f.server ? { server: f.server } : {}),
    artifacts: () => [
      {
        role: 'dump',
        extension: pg.DUMP_EXTENSION,
        command: pg.dumpCommand(conn, database, cfg.lockWaitTimeoutSec),
        magic: pg.DUMP_MAGIC,
        report: `dumping ${database}`,
        producerHint: `check that database "${database}" exists and ${conn.user}@${conn.host}:${conn.port} may read it`,
      },
      ...(x.globals
        ? [
            {
              role: 'globals' as const,
              extension: pg.GLOBALS_EXTENSION,
              command: pg.globalsCommand(conn, cfg.maintenanceDatabase),
              report: 'dumping globals (roles, tablespaces)',
              producerHint: 'pg_dumpall --globals-only needs a superuser (or set globals: false)',
            },
          ]
        : []),
    ],
  };
}
