// What every use case receives: config, the runner's transport, reporter, clock, cancellation and secret bookkeeping.

import { ConfigError } from '../domain/errors.js';
import type { Config, EnvConfig, PostgresConfig } from '../config/schema.js';
import type { Engine } from '../engines/engine.js';
import type { PgConnection } from '../engines/postgres/commands.js';
import { postgresConnection } from '../engines/postgres/index.js';
import { ENGINE_REGISTRY } from '../engines/registry.js';
import { resolvePassword, sectionOf } from './engine-section.js';
import { openStore } from '../storage/open.js';
import type { ObjectStore } from '../storage/store.js';
import { LocalTransport } from '../transports/local.js';
import type { Transport } from '../transports/transport.js';
import type { Reporter } from './reporter.js';
import type { ServiceGuard } from './service-guard.js';

export interface AppContext {
  config: Config;
  configFile: string;
  /** Directory relative paths in the config are resolved against. */
  configDir: string;
  environ: NodeJS.ProcessEnv;
  reporter: Reporter;
  now: () => Date;
  signal: AbortSignal;
  /** Secret values resolved so far; output layers redact them. */
  secrets: Set<string>;
  version: string;
  /** user@host, recorded in manifests. */
  actor: string;
  /** Where compression and downloads happen. */
  runner: Transport;
  /** Local cache directory (manifest cache); undefined = no cache. */
  cacheDir?: string | undefined;
  /** Which services this run has stopped right now (the signal handling waits for them to be brought back). */
  guard?: ServiceGuard | undefined;
  /** Opens stores; replaceable in tests. */
  openStore?: (env: EnvConfig) => ObjectStore;
}

export interface EnvHandle {
  name: string;
  env: EnvConfig;
  store: ObjectStore;
}

export function selectEnv(ctx: AppContext, name: string | undefined): EnvHandle {
  const known = Object.keys(ctx.config.envs);
  if (!name) {
    throw new ConfigError('no env given', [], { hint: `pass --env NAME (known: ${known.join(', ')})` });
  }
  const env = ctx.config.envs[name];
  if (!env) {
    throw new ConfigError(`unknown env "${name}" in ${ctx.configFile}`, [], {
      hint: `use one of: ${known.join(', ')} (or add it under "envs:")`,
    });
  }
  const store = ctx.openStore ? ctx.openStore(env) : openStore(env.storage, ctx.configDir);
  return { name, env, store };
}

/** The env's postgres section (a config error when it has none). */
export function postgresSection(ctx: AppContext, h: EnvHandle): PostgresConfig {
  return sectionOf(ctx, h, 'postgres');
}

/** How the client tools connect, the password resolved. */
export async function pgConnection(ctx: AppContext, h: EnvHandle, pg: PostgresConfig): Promise<PgConnection> {
  return postgresConnection(pg, await resolvePassword(ctx, h, ENGINE_REGISTRY.postgres as Engine, pg));
}

/** The runner transport; `signal` (the run's cancellation) ends the commands running when it aborts. */
export function localRunner(signal?: AbortSignal): Transport {
  return new LocalTransport(signal);
}
