// The PostgreSQL engine: logical dumps (pg_dump -Fc) of each configured database, restored beside the target and
// swapped in; its commands and SQL are in commands.ts, the globals planner in globals.ts.

import { RESTORE_COMMON, type Engine } from '../engine.js';

export const postgres: Engine = {
  name: 'postgres',
  unit: 'database',
  restoreLock: 'per-target',
  flags: {
    backup: ['env', 'database', 'compression', 'globals', 'forceUnlock'],
    restore: [...RESTORE_COMMON, 'database', 'targetDb', 'withGlobals', 'overwriteRoles', 'keepOld', 'jobs', 'owner'],
  },
};
