// The layering of STYLE.md, checked on the source: which layer may import which, engines that never spawn, and no
// import cycle at run time (type-only imports are erased and do not count).

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const FILES = sources(SRC).map((f) => relative(SRC, f));
const IMPORT = /^(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?'([^']+)';/gms;

function importsOf(file: string): { spec: string; typeOnly: boolean }[] {
  const text = readFileSync(join(SRC, file), 'utf8');
  return [...text.matchAll(IMPORT)].map((m) => ({ spec: m[2] as string, typeOnly: Boolean(m[1]) }));
}

const EDGES: Edge[] = FILES.flatMap((from) =>
  importsOf(from)
    .filter((i) => i.spec.startsWith('.'))
    .map((i) => ({
      from,
      to: relative(SRC, resolve(SRC, dirname(from), i.spec)).replace(/\.js$/, '.ts'),
      typeOnly: i.typeOnly,
    })),
);

const layer = (file: string): string =>
  file.includes('/') ? (file.split('/')[0] as string) : file.replace(/\.ts$/, '');

/** What each layer may import at run time (besides itself); `types` may also be imported as types only. */
const ALLOWED: Record<string, { runtime: string[]; types?: string[] }> = {
  domain: { runtime: [] },
  engines: { runtime: ['domain'], types: ['config'] },
  config: { runtime: ['domain', 'engines'] },
  transports: { runtime: ['domain'], types: ['config'] },
  storage: { runtime: ['domain'], types: ['config'] },
  pipeline: { runtime: ['domain', 'storage', 'transports'] },
  app: { runtime: ['domain', 'engines', 'config', 'transports', 'storage', 'pipeline'] },
  cli: { runtime: ['domain', 'engines', 'config', 'app', 'version', 'exit-codes'] },
};

describe('architecture (STYLE.md layering)', () => {
  it('reads every source file and its relative imports', () => {
    assert.ok(FILES.length > 100, `${FILES.length} files`);
    assert.ok(EDGES.length > 300, `${EDGES.length} imports`);
    for (const e of EDGES) assert.ok(FILES.includes(e.to), `${e.from} imports ${e.to}, which does not exist`);
  });

  it('no layer imports one it may not (cli → app → engines, transports, storage, pipeline, config → domain)', () => {
    const bad = EDGES.filter((e) => {
      const [from, to] = [layer(e.from), layer(e.to)];
      const rule = ALLOWED[from];
      if (!rule || from === to) return false;
      return !rule.runtime.includes(to) && !(e.typeOnly && rule.types?.includes(to));
    }).map((e) => `${e.from} → ${e.to}${e.typeOnly ? ' (type)' : ''}`);
    assert.deepEqual(bad, []);
  });

  it('domain and engines are pure: no process, file system or network modules; engines never spawn', () => {
    const impure = /^(node:)?(child_process|fs|fs\/promises|net|tls|http|https|os)$|^(execa|ssh2|@aws-sdk\/)/;
    const bad = FILES.filter((f) => ['domain', 'engines'].includes(layer(f))).flatMap((f) =>
      importsOf(f)
        .filter((i) => !i.typeOnly && impure.test(i.spec))
        .map((i) => `${f} imports ${i.spec}`),
    );
    assert.deepEqual(bad, []);
  });

  it("engines stay apart in app/: an engine's folder imports no other engine's, and the CLI reaches a restore through app/restore.ts", () => {
    const ENGINE_DIRS = ['postgres', 'redis', 'neo4j'];
    const engineOf = (f: string): string | undefined => {
      const [top, sub] = f.split('/');
      return top === 'app' && sub && ENGINE_DIRS.includes(sub) ? sub : undefined;
    };
    assert.deepEqual(
      ENGINE_DIRS.filter((d) => !FILES.some((f) => engineOf(f) === d)),
      [],
      'every engine has its folder in app/',
    );
    const crossed = EDGES.filter((e) => engineOf(e.from) && engineOf(e.to) && engineOf(e.from) !== engineOf(e.to));
    assert.deepEqual(
      crossed.map((e) => `${e.from} → ${e.to}`),
      [],
    );
    const direct = EDGES.filter(
      (e) => layer(e.from) === 'cli' && /^app\/(postgres|redis|neo4j)\/restore\.ts$/.test(e.to),
    );
    assert.deepEqual(
      direct.map((e) => `${e.from} → ${e.to}`),
      [],
    );
  });

  it('has no import cycle at run time', () => {
    const next = new Map<string, string[]>();
    for (const e of EDGES) if (!e.typeOnly) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, path: string[]): void => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...path.slice(path.indexOf(f)), f].join(' → '));
        return;
      }
      state.set(f, 'open');
      for (const to of next.get(f) ?? []) visit(to, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of FILES) visit(f, []);
    assert.deepEqual(cycles, []);
  });
});
