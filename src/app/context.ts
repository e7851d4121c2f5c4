// What every use case receives: config, the runner's transport, reporter, clock, cancellation and secret bookkeeping.

import { ConfigError } from '../domain/errors.js';
import type { Config, EnvConfig, PostgresConfig } from '../config/schema.js';
import { resolveSecret } from '../config/secrets.js';
import type { PgConnection } from '../engines/postgres/commands.js';
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

export function postgresSection(ctx: AppContext, h: EnvHandle): PostgresConfig {
  const pg = h.env.postgres;
  if (!pg) {
    throw new ConfigError(`env "${h.name}" has no postgres section in ${ctx.configFile}`, [], {
      hint: `add envs.${h.name}.postgres (see config.example.yaml)`,
    });
  }
  return pg;
}

export async function pgConnection(ctx: AppContext, h: EnvHandle, pg: PostgresConfig): Promise<PgConnection> {
  let password: string | undefined;
  if (pg.password) {
    password = await resolveSecret(pg.password, ctx.environ, `envs.${h.name}.postgres.password`);
    ctx.secrets.add(password);
  }
  return { host: pg.host, port: pg.port, user: pg.user, sslmode: pg.sslmode, binDir: pg.binDir, password };
}

/** The runner transport; `signal` (the run's cancellation) ends the commands running when it aborts. */
export function localRunner(signal?: AbortSignal): Transport {
  return new LocalTransport(signal);
}
