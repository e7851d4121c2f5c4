// What an engine is, as data: the use cases and the CLI look engines up in one registry (engines/registry.ts)
// instead of knowing each by name. The commands, SQL and plans each engine has live beside it (engines/<name>/).

import type { Neo4jConfig } from '../config/sections/neo4j.js';
import type { PostgresConfig } from '../config/sections/postgres.js';
import type { RedisConfig } from '../config/sections/redis.js';
import type { SecretRef } from '../config/sections/common.js';
import type { BackupPlan, Problem } from './backup-plan.js';
import type { NativeCheckPlan } from './native-check.js';

export type EngineName = 'postgres' | 'redis' | 'neo4j';

/** The commands (and methods) whose flags an engine lists. */
export type FlagSet =
  'backup' | 'restore' | 'verify' | 'drill' | 'backupPhysical' | 'restorePhysical' | 'verifyPhysical' | 'drillPhysical';

/** The logical command of each physical flag set and back (for "--x (postgres --physical only)"). */
export const PHYSICAL_OF: Record<'backup' | 'restore' | 'verify' | 'drill', FlagSet> = {
  backup: 'backupPhysical',
  restore: 'restorePhysical',
  verify: 'verifyPhysical',
  drill: 'drillPhysical',
};

/** Each engine's section of an env (envs.<env>.<engine>), by the engine's name. */
export interface EngineSections {
  postgres: PostgresConfig;
  redis: RedisConfig;
  neo4j: Neo4jConfig;
}

/** What a backup run asks of the engine's plan (the section aside). */
export interface BackupRequest {
  env: string;
  configFile: string;
  /** The units to back up (configured, or the one asked for). */
  units: string[];
  globals?: boolean | undefined;
  mode?: 'rdb-stream' | 'bgsave' | undefined;
  /** `--method` (Neo4j Community: dump or tar). */
  method?: 'dump' | 'tar' | undefined;
  /** `-d`: the one unit asked for (undefined: every configured one). */
  database?: string | undefined;
  /** The section's password, resolved (never in argv: the commands carry it in their environment). */
  password?: string | undefined;
  /** Where the work runs, for hints. */
  host: string;
  /** Unique per run (scratch names). */
  stamp: string;
  /** `--type` (Neo4j Enterprise: full, diff or auto). */
  type?: string | undefined;
  /**
   * Per unit, the newest complete backup in the store and its manifest's facts, for engines whose backups build on
   * the previous one (Engine.chained); absent otherwise.
   */
  previous?: Readonly<Record<string, { key: string; facts: Readonly<Record<string, string>> }>> | undefined;
}

export interface Engine<N extends EngineName = EngineName> {
  name: N;
  /** What one backup is of: a database of a server, or the whole instance. */
  unit: 'database' | 'instance';
  /**
   * A restore replaces one database beside others (its lease lock is per target) or stops the whole service (it takes
   * the engine's lock, the one its backups take).
   */
  restoreLock: 'per-target' | 'engine';
  /**
   * Command-line flags that mean something for this engine, per command (the CLI refuses the others); the physical
   * method (PostgreSQL through pgBackRest) takes its own.
   */
  flags: Record<FlagSet, readonly string[]>;
  /** The configured units of a section: its databases, or the instance's name. */
  units(cfg: EngineSections[N]): string[];
  /** A rule of the section the schema cannot state alone. */
  validate(cfg: EngineSections[N]): Problem | undefined;
  /** The password the connection needs, by reference (resolved by the use case). */
  passwordRef(cfg: EngineSections[N]): SecretRef | undefined;
  /** Set when a backup may build on the previous one (a chain): the use case then passes BackupRequest.previous. */
  chained?(cfg: EngineSections[N], type: string | undefined): boolean;
  /** The backup, as data (engines/backup-plan.ts). */
  backupPlan(cfg: EngineSections[N], request: BackupRequest): BackupPlan;
  /**
   * The engine's own reader over a whole downloaded artifact (verify), as data; `binDir` is where the section says
   * the engine's client tools are (the section may be absent: verify needs no server).
   */
  nativeCheck(file: string, binDir: string | undefined): NativeCheckPlan;
}

/** Flags every engine's verify takes (a stored backup; the archive flags for Glacier). */
export const VERIFY_COMMON = [
  'env',
  'from',
  'latest',
  'database',
  'tmpDir',
  'wait',
  'restoreTier',
  'waitTimeout',
] as const;

/** Flags every engine's drill takes. */
export const DRILL_COMMON = ['env', 'from', 'latest', 'database', 'keep', 'forceUnlock'] as const;

/** Flags every engine's restore takes. */
export const RESTORE_COMMON = [
  'env',
  'from',
  'latest',
  'tmpDir',
  'yes',
  'forceUnlock',
  'wait',
  'restoreTier',
  'waitTimeout',
] as const;
