// The Redis engine: the RDB of one instance per env (redis-cli --rdb, or BGSAVE), restored by stopping Redis and
// putting the RDB in place (AOF-aware); its commands are in commands.ts, the restore's checks in restore-checks.ts.

import { RESTORE_COMMON, type Engine } from '../engine.js';

export const redis: Engine = {
  name: 'redis',
  unit: 'instance',
  restoreLock: 'engine',
  flags: {
    backup: ['env', 'compression', 'mode', 'forceUnlock'],
    restore: [...RESTORE_COMMON],
  },
};
