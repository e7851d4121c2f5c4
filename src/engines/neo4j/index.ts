// The Neo4j engine: offline dumps of each configured database (Community) or online backups (Enterprise), restored
// with Neo4j offline and a copy of the current database kept; its commands are in commands.ts.

import { RESTORE_COMMON, type Engine } from '../engine.js';

export const neo4j: Engine = {
  name: 'neo4j',
  unit: 'database',
  restoreLock: 'engine',
  flags: {
    backup: ['env', 'database', 'compression', 'forceUnlock'],
    restore: [...RESTORE_COMMON, 'database'],
  },
};
