// The PostgreSQL engine: logical dumps (pg_dump -Fc) of each configured database, restored beside the target and
// swapped in; its commands and SQL are in commands.ts, the backup plan in backup.ts, the globals planner in globals.ts.

import type { PostgresConfig } from '../../config/sections/postgres.js';
import { DRILL_COMMON, RESTORE_COMMON, VERIFY_COMMON, type Engine } from '../engine.js';
import { postgresBackupPlan } from './backup.js';
import * as pg from './commands.js';
import { archiveTooNew } from './versions.js';
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
    verify: [...VERIFY_COMMON],
    drill: [...DRILL_COMMON],
    backupPhysical: ['env', 'physical', 'type', 'forceUnlock'],
    restorePhysical: ['env', 'physical', 'to', 'latest', 'targetDir', 'port', 'inPlace', 'yes'],
    // The whole repository, every base backup and WAL segment: nothing selects a backup.
    verifyPhysical: ['env', 'physical'],
    // The cluster from its repository, to a time or to the end: --from and -d select nothing here.
    drillPhysical: ['env', 'physical', 'to', 'keep', 'forceUnlock'],
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
  nativeCheck: (file, binDir) => {
    const conn = { host: '', port: 0, user: '', binDir };
    return {
      kind: 'commands',
      toolCheck: {
        command: pg.versionCommand(conn, 'pg_restore'),
        judge: (out, made) => archiveTooNew(pg.parseToolVersion(out), made['pg_dump'], 'this machine'),
      },
      steps: [
        {
          tool: 'pg_restore --list',
          report: "reading the archive's table of contents (pg_restore --list)",
          command: pg.listCommand(conn, file),
          judge: (out) => {
            const n = pg.parseArchiveList(out);
            return n.entries > 0
              ? { ok: true, detail: `${n.entries} archive entries; ${n.dataEntries} data` }
              : { ok: false, detail: '0 archive entries' };
          },
        },
        {
          tool: 'pg_restore --file=/dev/null (reading every data block)',
          report: 'reading and decoding every data block (pg_restore --file=/dev/null)',
          command: pg.readAllCommand(conn, file),
          explainFailure: pg.explainReadFailure,
        },
      ],
      summary: (details) => {
        const [entries, data] = (details[0] ?? '').split('; ');
        return {
          tool: 'pg_restore',
          detail: `table of contents: ${entries}; every data block read and decoded (${data?.replace(/ data$/, '')} table data and large-object entries, written as SQL to /dev/null)`,
        };
      },
    };
  },
};
