// The one registry of engines: everything that needs to know which engines exist, or what one of them takes, asks here.

import type { Engine, EngineName, FlagSet } from './engine.js';
import { neo4j } from './neo4j/index.js';
import { postgres } from './postgres/index.js';
import { redis } from './redis/index.js';

export const ENGINE_REGISTRY: { [N in EngineName]: Engine<N> } = { postgres, redis, neo4j };

export function engineNamed(name: string): Engine | undefined {
  return Object.hasOwn(ENGINE_REGISTRY, name) ? ENGINE_REGISTRY[name as EngineName] : undefined;
}

/** The given flags (option names as commander keeps them) that do not apply to `engine` for `command` (pure). */
export function flagsNotFor(engine: string, command: FlagSet, given: string[]): string[] {
  const allowed = engineNamed(engine)?.flags[command] ?? [];
  return given.filter((f) => !allowed.includes(f));
}

/** The engines a flag applies to for a command, for the message ("--target-db (postgres only)"). */
export function enginesTaking(command: FlagSet, flag: string): string[] {
  return Object.values(ENGINE_REGISTRY)
    .filter((e) => e.flags[command].includes(flag))
    .map((e) => e.name);
}
