// Global options shared by every command, and building the AppContext from them.

import type { ServiceGuard } from '../app/service-guard.js';
import { dirname } from 'node:path';
import { hostname, userInfo } from 'node:os';
import type { Command } from 'commander';
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
