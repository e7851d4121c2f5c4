// Finds and reads igbackup.yaml (--config, $IGBACKUP_CONFIG, ./igbackup.yaml, ~/.config/igbackup/config.yaml).

import { readFile, access } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError } from '../domain/errors.js';
import type { Config } from './schema.js';
import { validateConfigText } from './validate.js';

export interface LoadedConfig {
  config: Config;
  file: string;
}

export interface ConfigLocation {
  explicit?: string | undefined;
  environ: NodeJS.ProcessEnv;
  cwd: string;
  home: string;
}

/**
 * The local cache directory: $IGBACKUP_CACHE_DIR ("off" disables the cache), else $XDG_CACHE_HOME/igbackup,
 * else ~/.cache/igbackup.
 */
export function cacheDirFor(loc: ConfigLocation): string | undefined {
  const explicit = loc.environ.IGBACKUP_CACHE_DIR;
  if (explicit === 'off') return undefined;
  if (explicit) return resolve(loc.cwd, explicit);
  const xdg = loc.environ.XDG_CACHE_HOME;
  return join(xdg ? resolve(loc.cwd, xdg) : join(loc.home, '.cache'), 'igbackup');
}

/** Candidate config paths in discovery order. */
export function candidatePaths(loc: ConfigLocation): { path: string; explicit: boolean }[] {
  if (loc.explicit) return [{ path: resolve(loc.cwd, loc.explicit), explicit: true }];
  const fromEnv = loc.environ.IGBACKUP_CONFIG;
  if (fromEnv) return [{ path: resolve(loc.cwd, fromEnv), explicit: true }];
  return [
    { path: join(loc.cwd, 'igbackup.yaml'), explicit: false },
    { path: join(loc.home, '.config', 'igbackup', 'config.yaml'), explicit: false },
  ];
}

export async function loadConfig(loc: ConfigLocation): Promise<LoadedConfig> {
  const candidates = candidatePaths(loc);
  for (const c of candidates) {
    if (!c.explicit && !(await exists(c.path))) continue;
    let text: string;
    try {
      text = await readFile(c.path, 'utf8');
    } catch (err) {
      throw new ConfigError(`cannot read config file ${c.path}: ${(err as Error).message}`, [], {
        cause: err,
        hint: 'check the path given by --config or $IGBACKUP_CONFIG',
      });
    }
    const result = validateConfigText(text, c.path);
    if (!result.ok) {
      throw new ConfigError(`invalid config ${c.path}`, result.problems, {
        hint: 'fix the keys named above; config.example.yaml documents every key',
      });
    }
    return { config: result.config, file: c.path };
  }
  throw new ConfigError(`no config file found (looked in ${candidates.map((c) => c.path).join(', ')})`, [], {
    hint: 'copy config.example.yaml to ./igbackup.yaml, or pass --config FILE / set $IGBACKUP_CONFIG',
  });
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
