// The Redis engine: the RDB of one instance per env (redis-cli --rdb, or BGSAVE), restored by stopping Redis and
// putting the RDB in place (AOF-aware); its commands are in commands.ts, the backup plan in backup.ts, the restore's
// checks in restore-checks.ts.

import type { RedisConfig } from '../../config/sections/redis.js';
import { DRILL_COMMON, RESTORE_COMMON, VERIFY_COMMON, type Engine } from '../engine.js';
import { redisBackupPlan } from './backup.js';
import * as commands from './commands.js';
import type { RedisConnection } from './commands.js';

/** How redis-cli connects, from the section and the resolved password: to the primary, or to the replica. */
export function redisConnection(
  cfg: RedisConfig,
  password: string | undefined,
  to: 'primary' | 'replica' = 'primary',
): RedisConnection {
  const at = to === 'replica' && cfg.replica ? cfg.replica : cfg;
  return { host: at.host, port: at.port, user: cfg.user, password, tls: cfg.tls, binDir: cfg.binDir };
}

export const redis: Engine<'redis'> = {
  name: 'redis',
  unit: 'instance',
  restoreLock: 'engine',
  flags: {
    backup: ['env', 'compression', 'mode', 'forceUnlock'],
    restore: [...RESTORE_COMMON],
    verify: [...VERIFY_COMMON],
    drill: [...DRILL_COMMON],
    backupPhysical: [],
    restorePhysical: [],
    verifyPhysical: [],
    drillPhysical: [],
  },
  units: (cfg) => [cfg.name],
  validate: () => undefined,
  passwordRef: (cfg) => cfg.password,
  backupPlan: (cfg, r) =>
    redisBackupPlan({
      cfg,
      conn: redisConnection(cfg, r.password, cfg.replica ? 'replica' : 'primary'),
      primary: redisConnection(cfg, r.password),
      mode: r.mode ?? cfg.mode,
      host: r.host,
    }),
  // redis-check-rdb from this machine's PATH (redis.binDir names where the tools are on the Redis host).
  nativeCheck: (file) => ({
    kind: 'commands',
    steps: [
      {
        tool: 'redis-check-rdb',
        report: 'reading the whole RDB with redis-check-rdb',
        command: commands.checkRdbCommand(file),
        judge: (out) => ({ ok: true, detail: commands.describeCheckRdb(out) }),
      },
    ],
    summary: (details) => ({ tool: 'redis-check-rdb', detail: details[0] ?? '' }),
  }),
};
