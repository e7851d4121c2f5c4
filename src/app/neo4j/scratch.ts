// A throwaway Neo4j DBMS on this machine, for verify and drill: the installed Neo4j pointed (NEO4J_CONF) at a
// neo4j.conf of its own in a scratch directory, so it can never touch the source DBMS's files or ports. The artifact
// is loaded (dump) or restored (online backup) into it and checked with neo4j-admin database check; a drill then
// starts it on a loopback Bolt port without authentication, runs Cypher smoke tests and always stops it again.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, ProcessFailedError } from '../../domain/errors.js';
import type { CatalogEntry } from '../catalog.js';
import type { Manifest } from '../../domain/manifest.js';
import { scratchSource } from './chain.js';
import * as neo4j from '../../engines/neo4j/commands.js';
import { storeDatabases } from '../../engines/neo4j/commands.js';
import { decompressStage } from '../../pipeline/compress.js';
import { feedFile } from '../../pipeline/restore-stream.js';
import { capture, type Captured } from '../../transports/run.js';
import { succeeded } from '../../transports/transport.js';
import { runCheckTool, type Check } from '../check-tool.js';
import type { AppContext, EnvHandle } from '../context.js';
import { freePort } from '../ports.js';
import { waitUntil } from '../wait.js';

export interface ScratchNeo4j {
  root: string;
  boltPort: number;
  db: string;
  /** NEO4J_CONF for every neo4j / neo4j-admin / cypher-shell call on this DBMS. */
  env: Record<string, string>;
}

function settings(h: EnvHandle) {
  const cfg = h.env.neo4j;
  return {
    tools: { admin: cfg?.neo4jAdmin ?? 'neo4j-admin', syntax: cfg?.syntax ?? ('5' as const) },
    edition: cfg?.edition ?? ('community' as const),
    scratch: h.env.drill.neo4jScratch,
  };
}

/**
 * Loads the downloaded artifact into a new scratch DBMS under dir and runs the consistency check on it; a differential
 * Enterprise backup is restored with its whole chain.
 */
export async function loadIntoScratch(
  ctx: AppContext,
  h: EnvHandle,
  entry: CatalogEntry,
  path: string,
  dir: string,
): Promise<{ scratch: ScratchNeo4j; check: Check }> {
  const m = entry.manifest;
  const { tools, edition, scratch: s } = settings(h);
  const root = join(dir, 'neo4j-scratch');
  for (const d of ['conf', 'data', 'run', 'logs']) await mkdir(join(root, d), { recursive: true });
  const boltPort = await freePort();
  await writeFile(
    join(root, 'conf', 'neo4j.conf'),
    neo4j.scratchConf(tools.syntax, { root, boltPort, heap: s.heap, pageCache: s.pageCache, edition }),
  );
  const scratch: ScratchNeo4j = { root, boltPort, db: m.target.database, env: { NEO4J_CONF: join(root, 'conf') } };
  if (m.format === neo4j.TAR_FORMAT) return unpackIntoScratch(ctx, m, tools, scratch, path);
  if (m.format === neo4j.BACKUP_FORMAT) {
    const restored = await runCheckTool(ctx, 'neo4j-admin database restore', {
      ...neo4j.restoreCommand(tools, scratch.db, await scratchSource(ctx, h, entry, path, dir)),
      env: scratch.env,
    });
    if (!restored.ok) return { scratch, check: restored };
  } else {
    const loader = ctx.runner.start({ ...neo4j.loadCommand(tools, scratch.db), env: scratch.env });
    loader.stdout.resume();
    try {
      await feedFile(path, decompressStage('none', ctx.runner), loader);
    } catch (err) {
      return { scratch, check: { tool: 'neo4j-admin database load', ok: false, detail: (err as Error).message } };
    }
  }
  return {
    scratch,
    check: await runCheckTool(ctx, 'neo4j-admin database check', {
      ...neo4j.checkCommand(tools, scratch.db),
      env: scratch.env,
    }),
  };
}

/**
 * Starts the scratch DBMS, waits until it answers Cypher, runs fn with a query function, and always stops it.
 * The query function returns cypher-shell's result; the Cypher text travels on stdin.
 */
export async function withScratchServer<T>(
  ctx: AppContext,
  h: EnvHandle,
  scratch: ScratchNeo4j,
  fn: (query: (cypher: string) => Promise<Captured>) => Promise<T>,
): Promise<T> {
  const s = h.env.drill.neo4jScratch;
  const query = (cypher: string): Promise<Captured> =>
    capture(
      ctx.runner,
      { ...neo4j.cypherCommand(s.cypherShell, scratch.boltPort, scratch.db), env: scratch.env },
      neo4j.cypherInput(cypher),
    );
  ctx.reporter.step(`drill: starting the scratch Neo4j on 127.0.0.1:${scratch.boltPort}`);
  const started = await capture(ctx.runner, { argv: [s.neo4j, 'start'], env: scratch.env });
  try {
    if (!succeeded(started))
      throw new ProcessFailedError(`${s.neo4j} start (scratch DBMS)`, started, {
        hint: 'the scratch DBMS logs are in its logs/ directory (kept with --keep)',
      });
    await waitForCypher('the scratch Neo4j', s.readyTimeoutSec, query);
    return await fn(query);
  } finally {
    const stopped = await capture(ctx.runner, { argv: [s.neo4j, 'stop'], env: scratch.env });
    if (!succeeded(stopped))
      ctx.reporter.warn(
        `could not stop the scratch Neo4j (${stopped.stderrTail.trim()}); it runs from ${scratch.root}`,
      );
  }
}

/** Waits until `RETURN 1` answers through query (a DBMS that was just started or scaled up). */
export async function waitForCypher(
  what: string,
  timeoutSec: number,
  query: (cypher: string) => Promise<Captured>,
): Promise<void> {
  let last = '';
  try {
    await waitUntil(
      `${what} answering Cypher`,
      timeoutSec * 1000,
      async () => {
        const r = await query('RETURN 1');
        // A cypher-shell that cannot even start will not start later: say so now rather than after the timeout.
        if (r.startError)
          throw new ProcessFailedError('cypher-shell', r, {
            hint: 'install cypher-shell (or set its path in drill.neo4jScratch.cypherShell / drill.kubernetes.neo4j.cypherShell)',
          });
        last = r.stderrTail.trim();
        return succeeded(r);
      },
      1000,
    );
  } catch (err) {
    if (err instanceof ProcessFailedError && err.command === 'cypher-shell') throw err;
    throw new ProcessFailedError(`${what} answering Cypher`, {
      exitCode: undefined,
      signal: undefined,
      stderrTail: `${(err as Error).message}; last answer: ${last}`,
    });
  }
}

/**
 * A tar of a data directory: the installed neo4j-admin must be the version that wrote it (else its check proves
 * nothing); unpacked into the scratch DBMS's data directory, every database in it checked. The scratch's database
 * (for the drill's Cypher) is the first that is not `system`.
 */
async function unpackIntoScratch(
  ctx: AppContext,
  m: Manifest,
  tools: neo4j.Neo4jTools,
  scratch: ScratchNeo4j,
  path: string,
): Promise<{ scratch: ScratchNeo4j; check: Check }> {
  const dbs = storeDatabases(m);
  scratch.db = dbs.find((d) => d !== 'system') ?? 'system';
  const v = await capture(ctx.runner, { ...neo4j.versionCommand(tools), env: scratch.env });
  const here = succeeded(v) ? neo4j.adminVersionOf(v.stdout) : undefined;
  const wrote = m.tools['neo4j-admin'];
  if (!wrote || here !== wrote)
    throw new ConfigError(
      `a tar of Neo4j ${wrote ?? '(no version recorded)'}'s data directory can be checked only by that version; neo4j-admin here ${here ? `is ${here}` : 'does not answer'}: the archive was not checked`,
      [],
      { hint: `install Neo4j ${wrote ?? 'of the same version'} on this machine (drill.neo4jScratch) to check it` },
    );
  const tar = ctx.runner.start(neo4j.unpackCommand(join(scratch.root, 'data')));
  tar.stdout.resume();
  try {
    await feedFile(path, decompressStage('none', ctx.runner), tar);
  } catch (err) {
    return { scratch, check: { tool: 'tar -x', ok: false, detail: (err as Error).message } };
  }
  for (const db of dbs) {
    const c = await runCheckTool(ctx, `neo4j-admin database check ${db}`, {
      ...neo4j.checkCommand(tools, db),
      env: scratch.env,
    });
    if (!c.ok) return { scratch, check: c };
  }
  return {
    scratch,
    check: { tool: 'neo4j-admin database check', ok: true, detail: `${dbs.join(', ')}: no problems found` },
  };
}
