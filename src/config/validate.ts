// Pure validation of parsed YAML: returns a typed Config or every problem with its key path and line.

import { parseDocument, LineCounter, isNode, type Document } from 'yaml';
import { checkEnvName } from '../domain/names.js';
import { configSchema, ENGINES, type Config } from './schema.js';

export type Validation = { ok: true; config: Config } | { ok: false; problems: string[] };

/** Parses YAML text and validates it; `file` is only used in messages. */
export function validateConfigText(text: string, file: string): Validation {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        const where = pos ? `${file}:${pos.line}:${pos.col}` : file;
        return `${where}: YAML syntax error: ${(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`;
      }),
    };
  }
  const data: unknown = doc.toJS() ?? {};
  const result = configSchema.safeParse(data);
  if (result.success) return validateCrossRefs(result.data, file);
  return {
    ok: false,
    problems: result.error.issues.map((issue) => {
      const path = issue.path.map(String);
      const line = lineOf(doc, lineCounter, path);
      const where = line ? `${file}:${line}` : file;
      const keyPath = path.length ? path.join('.') : '(top level)';
      return `${where}: ${keyPath}: ${describeIssue(issue)}`;
    }),
  };
}

function describeIssue(issue: { code: string; message: string; keys?: string[] }): string {
  if (issue.code === 'unrecognized_keys' && issue.keys) {
    return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (check the spelling against config.example.yaml)`;
  }
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) {
    return `missing required key (${issue.message})`;
  }
  return issue.message;
}

/** Rules beyond the schema: env names fit object keys, a scheduled engine is configured, an env's tier exists. */
function validateCrossRefs(config: Config, file: string): Validation {
  const problems: string[] = [];
  for (const [name, env] of Object.entries(config.envs)) {
    const badName = checkEnvName(name);
    if (badName) problems.push(`${file}: envs.${name}: ${badName}`);
    for (const engine of ENGINES) {
      if (env.schedule?.[engine] !== undefined && env[engine] === undefined) {
        problems.push(`${file}: envs.${name}.schedule.${engine}: the env has no ${engine} section, so nothing would run; add envs.${name}.${engine} or remove the schedule`);
      }
    }
    if (env.tier !== undefined && !(env.tier in config.tiers)) {
      const known = Object.keys(config.tiers);
      problems.push(
        `${file}: envs.${name}.tier: unknown tier "${env.tier}"; define it under "tiers:" (known: ${known.join(', ') || 'none'})`,
      );
    }
  }
  return problems.length ? { ok: false, problems } : { ok: true, config };
}

/** Finds the line of the deepest existing node on a key path, for messages. */
function lineOf(doc: Document, counter: LineCounter, path: string[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}
