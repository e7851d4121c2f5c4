// The Neo4j engine: offline dumps of each configured database (Community) or online backups (Enterprise), restored
// with Neo4j offline and a copy of the current database kept; its commands are in commands.ts, the backup plan in
// backup.ts.

import { DRILL_COMMON, RESTORE_COMMON, VERIFY_COMMON, type Engine } from '../engine.js';
import { neo4jBackupPlan } from './backup.js';
import { BACKUP_FORMAT } from './commands.js';

export const neo4j: Engine<'neo4j'> = {
  name: 'neo4j',
  unit: 'database',
  restoreLock: 'engine',
  flags: {
    backup: ['env', 'database', 'compression', 'forceUnlock', 'type', 'method'],
    restore: [...RESTORE_COMMON, 'database', 'to'],
    verify: [...VERIFY_COMMON],
    drill: [...DRILL_COMMON],
    backupPhysical: [],
    restorePhysical: [],
    verifyPhysical: [],
    drillPhysical: [],
  },
  units: (cfg) => cfg.databases,
  validate: (cfg) =>
    cfg.edition === 'community' && cfg.enterprise.type !== 'full'
      ? {
          problem: `enterprise.type ${cfg.enterprise.type} needs edition enterprise`,
          hint: 'Neo4j Community has no online or differential backup: set edition: enterprise, or drop enterprise.type',
        }
      : cfg.edition === 'enterprise' && cfg.method === 'tar'
        ? {
            problem: 'method tar is for Neo4j Community (Enterprise backs up online)',
            hint: 'drop neo4j.method, or set edition: community',
          }
        : cfg.transport.type === 'kubernetes' && cfg.edition === 'community' && !cfg.kubernetes
          ? {
              problem: 'kubernetes is needed for Community in Kubernetes',
              hint: 'set statefulSet, pvc and image: the dump runs offline in a helper pod that mounts the data PVC',
            }
          : undefined,
  passwordRef: () => undefined,
  chained: (cfg, type) => cfg.edition === 'enterprise' && (type ?? cfg.enterprise.type) !== 'full',
  backupPlan: (cfg, r) =>
    neo4jBackupPlan({
      cfg,
      units: r.units,
      stamp: r.stamp,
      env: r.env,
      type: r.type,
      previous: r.previous,
      method: r.method,
      database: r.database,
    }),
  // Loaded into a throwaway DBMS on this machine (its own neo4j.conf) and checked there: app/neo4j/scratch.ts.
  nativeCheck: () => ({
    kind: 'scratch-dbms',
    describe: (format) =>
      `${format === BACKUP_FORMAT ? 'the whole backup restored' : 'the whole dump loaded'} into a throwaway DBMS`,
  }),
};
