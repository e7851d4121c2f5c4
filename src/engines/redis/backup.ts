// The Redis backup plan (data): redis-cli's version, the server's facts (version, keys, memory), then the RDB: as a
// replica sees it (redis-cli --rdb -), or written by BGSAVE on the server and read from its dump file.

import type { RedisConfig } from '../../config/sections/redis.js';
import type { BackupPlan, Facts, PlanStep, Problem, Read, UnitPlan } from '../backup-plan.js';
import * as redis from './commands.js';

export interface RedisBackupInput {
  cfg: RedisConfig;
  /** Where the RDB comes from: the replica when the section names one, else the primary. */
  conn: redis.RedisConnection;
  /** The configured primary (the replica must follow it). */
  primary: redis.RedisConnection;
  mode: 'rdb-stream' | 'bgsave';
  /** Where redis-cli runs, for the hints. */
  host: string;
}

export function redisBackupPlan(x: RedisBackupInput): BackupPlan {
  const info = (section: string, pick: (i: Record<string, string>) => Facts): Read =>
    cliRead(x, `INFO ${section}`, ['INFO', section], (out) => pick(redis.parseInfo(out)));
  return {
    units: [x.cfg.name],
    tools: [
      {
        kind: 'read',
        what: 'redis-cli',
        command: redis.versionCommand(x.conn),
        parse: (out) => ({ 'redis-cli': /(\d+\.\d+\.\d+)/.exec(out)?.[1] ?? out.trim() }),
        hint: `install redis-tools on ${x.host} or set redis.binDir`,
      },
    ],
    checks: [
      ...(x.cfg.replica ? [primaryReplication(x), replicaCheck(x)] : []),
      info('server', (i) => ({ server: i.redis_version ?? 'unknown' })),
      info('keyspace', (i) => ({ keysAtStart: String(redis.keyspaceKeys(i)) })),
      info('memory', (i) => ({ memory: i.used_memory ?? '0' })),
    ],
    unit: () => unitPlan(x),
  };
}

/** The configured primary's replication ID (INFO replication reads, it forks nothing): what the replica must follow. */
function primaryReplication(x: RedisBackupInput): Read {
  return {
    kind: 'read',
    what: `redis-cli INFO replication (the primary ${x.primary.host}:${x.primary.port})`,
    command: redis.cli(x.primary, 'INFO', 'replication'),
    parse: (out): Facts | Problem => {
      const id = redis.parseInfo(out).master_replid;
      return id ? { primaryReplid: id } : { problem: 'INFO replication of the primary names no master_replid' };
    },
    errorAnswer: redis.ERROR_ANSWER,
  };
}

/**
 * With a replica configured: it must be one, in sync, following the configured primary (the same replication ID);
 * the primary is never backed up (forked) in its stead.
 */
function replicaCheck(x: RedisBackupInput): Read {
  const r = x.cfg.replica as NonNullable<RedisConfig['replica']>;
  return cliRead(x, 'INFO replication (the replica)', ['INFO', 'replication'], (out, f): Facts | Problem => {
    const i = redis.parseInfo(out);
    const why =
      redis.replicaProblem(i, r.maxLagSec) ??
      (f.primaryReplid && i.master_replid !== f.primaryReplid
        ? `it follows another primary (${i.master_host ?? '?'}:${i.master_port ?? '?'}, replication ID ${i.master_replid ?? '?'}), not ${x.primary.host}:${x.primary.port} (${f.primaryReplid})`
        : undefined);
    if (why)
      return {
        problem: `redis.replica ${r.host}:${r.port} cannot be backed up from: ${why}; a backup from it could miss writes, and igbackup does not fork the primary in its stead`,
        hint: 'repair replication (INFO replication on the replica says why), or remove redis.replica to back up the primary',
      };
    return { replicaLagSec: i.master_last_io_seconds_ago ?? '' };
  });
}

/** The heartbeat the source holds right before its snapshot: the backup holds at least this beat. */
function heartbeatRead(x: RedisBackupInput): Read {
  return {
    ...cliRead(x, `GET ${x.cfg.heartbeatKey}`, ['GET', x.cfg.heartbeatKey], (out): Facts | Problem => {
      const beat = redis.parseHeartbeat(out);
      return beat === 'unreadable'
        ? { problem: `it holds ${JSON.stringify(out.trim().slice(0, 40))}, not a time igbackup redis heartbeat wrote` }
        : { heartbeat: beat ?? '' };
    }),
    // A key of another type (WRONGTYPE) or a user not allowed to read it: the backup goes on without a beat.
    warn: (why) =>
      `the heartbeat key ${x.cfg.heartbeatKey} could not be read (${why}): the RPO is measured by the backup's age`,
  };
}

/** A redis-cli call whose answer is parsed; an error answer fails it. */
function cliRead(x: RedisBackupInput, what: string, args: string[], parse: Read['parse']): Read {
  return {
    kind: 'read',
    what: `redis-cli ${what}`,
    command: redis.cli(x.conn, ...args),
    parse,
    errorAnswer: redis.ERROR_ANSWER,
  };
}

function unitPlan(x: RedisBackupInput): UnitPlan {
  const { cfg, conn, mode } = x;
  return {
    steps: [heartbeatRead(x), ...(mode === 'bgsave' ? bgsaveSteps(x) : [])],
    format: redis.ARTIFACT_FORMAT,
    address: `${cfg.host}:${cfg.port}`,
    sizeEstimate: (f) => (Number(f.memory) > 0 ? Number(f.memory) : undefined),
    manifestFacts: (f) => ({
      server: f.server ?? 'unknown',
      keysAtStart: f.keysAtStart ?? '0',
      mode,
      source: cfg.replica ? `replica ${conn.host}:${conn.port}` : 'primary',
      ...(f.heartbeat ? { heartbeat: f.heartbeat } : {}),
    }),
    artifacts: (f) => [
      {
        role: 'dump',
        extension: redis.RDB_EXTENSION,
        command:
          mode === 'bgsave'
            ? redis.catCommand(`${(f.dir ?? '').replace(/\/+$/, '')}/${f.dbfilename}`)
            : redis.rdbStreamCommand(conn),
        magic: redis.RDB_MAGIC,
        report: `streaming the RDB of ${conn.host}:${conn.port}${cfg.replica ? ' (the replica)' : ''} (${mode})`,
        producerHint: `check that Redis at ${conn.host}:${conn.port} is reachable and the credentials allow SYNC/--rdb (or use mode: bgsave)`,
      },
    ],
  };
}

/**
 * BGSAVE, then wait until a new snapshot is done: rdb_saves grew (Redis >= 7; the last-save time has 1 s resolution
 * and does not move when two saves fall in the same second) or, on older servers, rdb_last_save_time advanced; with a
 * good status. Then where the server wrote it (CONFIG GET dir dbfilename).
 */
function bgsaveSteps(x: RedisBackupInput): PlanStep[] {
  const persistence = (pick: (i: Record<string, string>) => Facts): Read =>
    cliRead(x, 'INFO persistence', ['INFO', 'persistence'], (out) => pick(redis.parseInfo(out)));
  return [
    persistence((i) => ({ savesBefore: i.rdb_saves ?? '', lastSaveBefore: i.rdb_last_save_time ?? '' })),
    {
      ...cliRead(x, 'BGSAVE', ['BGSAVE'], (out): Facts | Problem =>
        /Background saving started|scheduled/i.test(out) ? {} : { problem: out.trim() || 'no answer', failed: true },
      ),
      report: 'BGSAVE: waiting for the server to write a fresh snapshot',
    },
    {
      kind: 'wait',
      what: 'BGSAVE',
      probe: persistence((i) => i),
      until: (now, before) => {
        const advanced =
          before.savesBefore !== ''
            ? now.rdb_saves !== before.savesBefore
            : now.rdb_last_save_time !== before.lastSaveBefore;
        if (!advanced || now.rdb_bgsave_in_progress !== '0') return false;
        if (now.rdb_last_bgsave_status !== 'ok') {
          return { problem: `rdb_last_bgsave_status:${now.rdb_last_bgsave_status}`, failed: true };
        }
        return true;
      },
      timeoutMs: x.cfg.bgsaveTimeoutSec * 1000,
      intervalMs: 200,
    },
    cliRead(x, 'CONFIG GET dir/dbfilename', ['CONFIG', 'GET', 'dir'], (out) => pickConfig(out, 'dir')),
    cliRead(x, 'CONFIG GET dir/dbfilename', ['CONFIG', 'GET', 'dbfilename'], (out) => pickConfig(out, 'dbfilename')),
  ];
}

function pickConfig(out: string, name: string): Facts | { problem: string; failed: true } {
  const value = redis.parseConfigGet(out)[name];
  return value ? { [name]: value } : { problem: 'no answer (CONFIG may be renamed or forbidden)', failed: true };
}
