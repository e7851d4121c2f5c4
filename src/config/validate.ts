// Pure validation of parsed YAML: returns a typed Config or every problem with its key path and line.

import { parseDocument, LineCounter, isNode, isPair, isScalar, isSeq, visit, type Document } from 'yaml';
import { isPlainDecimal } from '../domain/limits.js';
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
  const notation = numberNotationProblems(doc, lineCounter, file);
  const result = configSchema.safeParse(data);
  if (result.success) {
    const checked = validateCrossRefs(result.data, file);
    return notation.length ? { ok: false, problems: [...notation, ...(checked.ok ? [] : checked.problems)] } : checked;
  }
  return {
    ok: false,
    problems: [
      ...notation,
      ...result.error.issues.map((issue) => {
        const path = issue.path.map(String);
        const line = lineOf(doc, lineCounter, path);
        const where = line ? `${file}:${line}` : file;
        const keyPath = path.length ? path.join('.') : '(top level)';
        return `${where}: ${keyPath}: ${describeIssue(issue)}`;
      }),
    ],
  };
}

/** Numbers must be written in decimal digits: YAML would also read 1e3, 0x10, 0o17, +5 or .inf as numbers. */
function numberNotationProblems(doc: Document, counter: LineCounter, file: string): string[] {
  const problems: string[] = [];
  visit(doc, {
    Scalar(_key, node, path) {
      if (typeof node.value !== 'number' || node.source === undefined || isPlainDecimal(node.source)) return;
      const keys: string[] = [];
      path.forEach((p, i) => {
        if (isPair(p) && isScalar(p.key)) keys.push(String(p.key.value));
        else if (isSeq(p)) keys.push(String(p.items.indexOf(path[i + 1] as never)));
      });
      const line = node.range ? `:${counter.linePos(node.range[0]).line}` : '';
      problems.push(
        `${file}${line}: ${keys.join('.') || '(top level)'}: "${node.source}" is not a plain decimal number; write it with decimal digits only (it reads as ${String(node.value)})`,
      );
    },
  });
  return problems;
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

/** Rules beyond the schema: env names fit object keys, a scheduled engine is configured, an env's tier exists,
 * parallel restores run locally. */
function validateCrossRefs(config: Config, file: string): Validation {
  const problems: string[] = [];
  for (const [name, env] of Object.entries(config.envs)) {
    const pg = env.postgres;
    if (pg && typeof pg.restoreJobs === 'number' && pg.restoreJobs > 1 && pg.transport.type !== 'local') {
      problems.push(
        `${file}: envs.${name}.postgres.restoreJobs: ${pg.restoreJobs} parallel jobs need pg_restore to read a file on the machine where it runs; ` +
          `over ${pg.transport.type} it reads the stream on its stdin, one job at a time: set restoreJobs: 1 or auto`,
      );
    }
    const badName = checkEnvName(name);
    if (badName) problems.push(`${file}: envs.${name}: ${badName}`);
    for (const engine of ENGINES) {
      if (env.schedule?.[engine] !== undefined && env[engine] === undefined) {
        problems.push(
          `${file}: envs.${name}.schedule.${engine}: the env has no ${engine} section, so nothing would run; add envs.${name}.${engine} or remove the schedule`,
        );
      }
    }
    if (env.tier !== undefined && !(env.tier in config.tiers)) {
      const known = Object.keys(config.tiers);
      problems.push(
        `${file}: envs.${name}.tier: unknown tier "${env.tier}"; define it under "tiers:" (known: ${known.join(', ') || 'none'})`,
      );
    }
  }
  problems.push(...nestedEnvs(config, file));
  return problems.length ? { ok: false, problems } : { ok: true, config };
}

/** Two envs on the same bucket (or folder) whose folders nest: prune and list of the outer one would see the inner's. */
function nestedEnvs(config: Config, file: string): string[] {
  const folders = Object.entries(config.envs).map(([name, env]) => {
    const s = env.storage;
    const where = s.type === 's3' ? `s3 ${s.endpoint ?? ''} ${s.bucket}` : `file ${s.path.replace(/\/+$/, '')}`;
    const folder = `${[...s.prefix.split('/'), name].filter(Boolean).join('/')}/`;
    return { name, where, folder };
  });
  const out: string[] = [];
  for (const a of folders) {
    for (const b of folders) {
      if (a === b || a.where !== b.where || !b.folder.startsWith(a.folder)) continue;
      out.push(
        `${file}: envs.${b.name}: its objects (${b.folder}) lie inside env ${a.name}'s folder (${a.folder}) on the same store; give one of them another storage.prefix so the folders do not nest`,
      );
    }
  }
  return out;
}

/** Finds the line of the deepest existing node on a key path, for messages. */
function lineOf(doc: Document, counter: LineCounter, path: string[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return undefined;
}
