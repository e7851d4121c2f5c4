// What an engine is, as data: the use cases and the CLI look engines up in one registry (engines/registry.ts)
// instead of knowing each by name. The commands and SQL each engine runs live beside it (engines/<name>/).

export type EngineName = 'postgres' | 'redis' | 'neo4j';

export interface Engine {
  name: EngineName;
  /** What one backup is of: a database of a server, or the whole instance. */
  unit: 'database' | 'instance';
  /**
   * A restore replaces one database beside others (its lease lock is per target) or stops the whole service (it takes
   * the engine's lock, the one its backups take).
   */
  restoreLock: 'per-target' | 'engine';
  /** Command-line flags that mean something for this engine, per command (the CLI refuses the others). */
  flags: { backup: readonly string[]; restore: readonly string[] };
}

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
