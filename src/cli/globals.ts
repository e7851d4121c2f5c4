// Global options shared by every command, and building the AppContext from them.

import type { ServiceGuard } from '../app/service-guard.js';
import { dirname } from 'node:path';
import { hostname, userInfo } from 'node:os';
import type { Command } from 'commander';
import { ConfigError } from '../domain/errors.js';
import { enginesTaking, flagsNotFor } from '../engines/registry.js';
import { PHYSICAL_OF, type FlagSet } from '../engines/engine.js';
import type { AppContext } from '../app/context.js';
import { localRunner } from '../app/context.js';
import { cacheDirFor, loadConfig } from '../config/load.js';
import { VERSION } from '../version.js';
import type { Output } from './output.js';

export interface GlobalOptions {
  config?: string;
  json?: boolean;
  quiet?: boolean;
  color?: boolean;
}

export interface CliDeps {
  environ: NodeJS.ProcessEnv;
  cwd: string;
  home: string;
  signal: AbortSignal;
  secrets: Set<string>;
  output: (opts: GlobalOptions) => Output;
  now?: () => Date;
  stdinIsTTY: boolean;
  /** Services the run has stopped (src/main.ts reads it when a signal comes). */
  guard?: ServiceGuard | undefined;
}

export function globalsOf(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

export async function buildContext(deps: CliDeps, g: GlobalOptions, out: Output): Promise<AppContext> {
  const loc = { explicit: g.config, environ: deps.environ, cwd: deps.cwd, home: deps.home };
  const loaded = await loadConfig(loc);
  return {
    config: loaded.config,
    configFile: loaded.file,
    configDir: dirname(loaded.file),
    environ: deps.environ,
    reporter: out,
    now: deps.now ?? (() => new Date()),
    signal: deps.signal,
    secrets: deps.secrets,
    version: VERSION,
    actor: `${safeUser()}@${hostname()}`,
    cacheDir: cacheDirFor(loc),
    runner: localRunner(deps.signal),
    guard: deps.guard,
  };
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/**
 * Refuses flags given on the command line that do not apply to the engine (the engine says which do: engines/flags),
 * naming each flag and the engines it is for.
 */
/** How a flag set reads in a message. */
const FLAG_SET_NAMES: Record<FlagSet, string> = {
  backup: 'backup',
  restore: 'restore',
  verify: 'verify',
  drill: 'drill',
  backupPhysical: 'backup --physical',
  restorePhysical: 'restore --physical',
  verifyPhysical: 'verify --physical',
  drillPhysical: 'drill --physical',
};

/** Where a refused flag does apply: "postgres only", "postgres --physical only", "not with --physical". */
function whereFlagApplies(command: FlagSet, flag: string): string {
  const pair = Object.entries(PHYSICAL_OF).find(([l, p]) => l === command || p === command) ?? [command, command];
  const [logical, physical] = pair as [FlagSet, FlagSet];
  const here = enginesTaking(command, flag);
  if (here.length) return `${here.join(', ')} only`;
  const other = command === logical ? physical : logical;
  const there = enginesTaking(other, flag);
  if (there.length) return command === logical ? `${there.join(', ')} --physical only` : 'not with --physical';
  return 'no engine';
}

export function refuseFlagsNotFor(cmd: Command, engine: string, command: FlagSet): void {
  const given = cmd.options.filter((o) => cmd.getOptionValueSource(o.attributeName()) === 'cli');
  const wrong = [
    ...new Set(
      flagsNotFor(
        engine,
        command,
        given.map((o) => o.attributeName()),
      ),
    ),
  ];
  if (wrong.length === 0) return;
  // --globals and --no-globals share one value: name the one that was given.
  const name = (attr: string): string => {
    const negated = cmd.getOptionValue(attr) === false;
    const o =
      given.find((x) => x.attributeName() === attr && x.negate === negated) ??
      given.find((x) => x.attributeName() === attr);
    return o?.long ?? attr;
  };
  const why = wrong.map((w) => `${name(w)} (${whereFlagApplies(command, w)})`);
  throw new ConfigError(
    `${why.length === 1 ? 'this flag does' : 'these flags do'} not apply to ${FLAG_SET_NAMES[command]} ${engine}: ${why.join(', ')}`,
    [],
    {
      hint: `drop ${wrong.map(name).join(', ')}, or check the engine`,
    },
  );
}
