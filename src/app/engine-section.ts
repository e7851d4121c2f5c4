// An engine's section of an env, resolved once at a use case's entry: present (else a config error naming the key to
// add), valid beyond the schema (the engine's own rule), and its password resolved by reference.

import type { EnvConfig } from '../config/schema.js';
import { resolveSecret } from '../config/secrets.js';
import { ConfigError } from '../domain/errors.js';
import type { Engine, EngineName, EngineSections } from '../engines/engine.js';
import { ENGINE_REGISTRY } from '../engines/registry.js';
import type { AppContext, EnvHandle } from './context.js';

export type AnySection = EngineSections[keyof EngineSections];

export function engineSection(ctx: AppContext, h: EnvHandle, engine: Engine): AnySection {
  const cfg = (h.env as EnvConfig)[engine.name];
  if (!cfg) {
    throw new ConfigError(`env "${h.name}" has no ${engine.name} section in ${ctx.configFile}`, [], {
      hint: `add envs.${h.name}.${engine.name} (see config.example.yaml)`,
    });
  }
  const problem = engine.validate(cfg);
  if (problem) throw new ConfigError(`envs.${h.name}.${engine.name}: ${problem.problem}`, [], { hint: problem.hint });
  return cfg;
}

/** The section of the engine named, typed (for the engine's own use cases). */
export function sectionOf<N extends EngineName>(ctx: AppContext, h: EnvHandle, name: N): EngineSections[N] {
  return engineSection(ctx, h, ENGINE_REGISTRY[name] as Engine) as EngineSections[N];
}

/** The section's password, resolved (env var, file, ...) and recorded as a secret the output layers redact. */
export async function resolvePassword(
  ctx: AppContext,
  h: EnvHandle,
  engine: Engine,
  cfg: AnySection,
): Promise<string | undefined> {
  const ref = engine.passwordRef(cfg);
  if (!ref) return undefined;
  const password = await resolveSecret(ref, ctx.environ, `envs.${h.name}.${engine.name}.password`);
  ctx.secrets.add(password);
  return password;
}
