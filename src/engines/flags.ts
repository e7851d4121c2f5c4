// Which command-line flags mean something for each engine, per command: the CLI asks here and refuses the others
// (exit 2, before anything runs) instead of knowing each engine itself.

/** Flags every engine's restore takes. */
const RESTORE_COMMON = ['env', 'from', 'latest', 'tmpDir', 'yes', 'forceUnlock', 'wait', 'restoreTier', 'waitTimeout'] as const;

export const ENGINE_FLAGS: Record<string, { backup: readonly string[]; restore: readonly string[] }> = {
  postgres: {
    backup: ['env', 'database', 'compression', 'globals', 'forceUnlock'],
    restore: [...RESTORE_COMMON, 'database', 'targetDb', 'withGlobals', 'overwriteRoles', 'keepOld', 'jobs', 'owner'],
  },
  redis: {
    backup: ['env', 'compression', 'mode', 'forceUnlock'],
    restore: [...RESTORE_COMMON],
  },
  neo4j: {
    backup: ['env', 'database', 'compression', 'forceUnlock'],
    restore: [...RESTORE_COMMON, 'database'],
  },
};

/** The given flags (option names as commander keeps them) that do not apply to `engine` for `command` (pure). */
export function flagsNotFor(engine: string, command: 'backup' | 'restore', given: string[]): string[] {
  const allowed = ENGINE_FLAGS[engine]?.[command] ?? [];
  return given.filter((f) => !allowed.includes(f));
}

/** The engines a flag applies to for a command, for the message ("--target-db applies to postgres"). */
export function enginesTaking(command: 'backup' | 'restore', flag: string): string[] {
  return Object.entries(ENGINE_FLAGS)
    .filter(([, f]) => f[command].includes(flag))
    .map(([e]) => e);
}
