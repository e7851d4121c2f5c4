// The PostgreSQL engine: logical dumps (pg_dump -Fc) of each configured database, restored beside the target and
// swapped in; its commands and SQL are in commands.ts, the backup plan in backup.ts, the globals planner in globals.ts.

import type { PostgresConfig } from '../../config/sections/postgres.js';
import { RESTORE_COMMON, type Engine } from '../engine.js';
import { postgresBackupPlan } from './backup.js';
import type { PgConnection } from './commands.js';

/** How the client tools connect, from the section and the resolved password. */
export function postgresConnection(cfg: PostgresConfig, password: string | undefined): PgConnection {
  return { host: cfg.host, port: cfg.port, user: cfg.user, sslmode: cfg.sslmode, binDir: cfg.binDir, password };
}

export const postgres: Engine<'postgres'> = {
  name: 'postgres',
  unit: 'database',
  restoreLock: 'per-target',
  flags: {
    backup: ['env', 'database', 'compression', 'globals', 'forceUnlock'],
    restore: [...RESTORE_COMMON, 'database', 'targetDb', 'withGlobals', 'overwriteRoles', 'keepOld', 'jobs', 'owner'],
    backupPhysical: ['env', 'physical', 'type', 'forceUnlock'],
    restorePhysical: ['env', 'physical', 'to', 'latest', 'targetDir', 'port'],
  },
  units: (cfg) => cfg.databases,
  validate: () => undefined,
  passwordRef: (cfg) => cfg.password,
  backupPlan: (cfg, r) =>
    postgresBackupPlan({
      cfg,
      conn: postgresConnection(cfg, r.password),
      env: r.env,
      configFile: r.configFile,
      units: r.units,
      globals: r.globals ?? cfg.globals,
      host: r.host,
    }),
};
