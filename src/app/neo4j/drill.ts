// The Neo4j drill: the dump loaded into a throwaway DBMS here (check, Cypher smoke tests), or restored offline into
// the StatefulSet of a fresh namespace; always torn down (unless --keep).

import { join } from 'node:path';
import { neo4jSchema, type Neo4jConfig } from '../../config/schema.js';
import { resolveSecret } from '../../config/secrets.js';
import type { Manifest } from '../../domain/manifest.js';
import * as neo4j from '../../engines/neo4j/commands.js';
import { makeWorkspace } from '../../pipeline/restore-stream.js';
import { capture, type Captured } from '../../transports/run.js';
import { succeeded } from '../../transports/transport.js';
import { downloadMainArtifact } from '../artifact.js';
import type { resolveBackup } from '../catalog.js';
import type { AppContext, EnvHandle } from '../context.js';
import { loadIntoScratch, waitForCypher, withScratchServer } from './scratch.js';
import { restoreNeo4j } from './restore.js';
import { openTransport } from '../transports.js';
import { inDrillNamespace, inNamespace, kubeTransport, type KubeDrill } from '../drill/namespace.js';
import {
  drillSubject,
  errorText,
  finish,
  type DrillCheck,
  type DrillOptions,
  type DrillReport,
} from '../drill/report.js';

/**
 * Neo4j: load the artifact into a throwaway DBMS on this machine (its own neo4j.conf and directories), run
 * neo4j-admin database check, then start it on a loopback port and run the Cypher smoke tests; always stopped.
 */
export async function drillNeo4j(
  ctx: AppContext,
  h: EnvHandle,
  entry: Awaited<ReturnType<typeof resolveBackup>>,
  opts: DrillOptions,
): Promise<DrillReport> {
  if (h.env.drill.kubernetes?.neo4j) return drillNeo4jInNamespace(ctx, h, entry, opts);
  const database = entry.manifest.target.database;
  const subject = drillSubject(ctx, { engine: 'neo4j', database, key: entry.key, keep: opts.keep });
  const ws = await makeWorkspace();
  const checks: DrillCheck[] = [];
  let error: string | undefined;
  let target = 'throwaway Neo4j DBMS on this machine';
  try {
    const path = join(ws.dir, 'artifact');
    await downloadMainArtifact(ctx, h.store, entry.manifest, path);
    ctx.reporter.step(`drill: loading ${entry.key} into a throwaway Neo4j DBMS and checking it`);
    const { scratch, check } = await loadIntoScratch(ctx, h, entry, path, ws.dir);
    target = `throwaway Neo4j DBMS on 127.0.0.1:${scratch.boltPort} (${scratch.root})`;
    checks.push({ name: check.tool, ok: check.ok, detail: check.detail });
    // A tar holds every database: each database's Cypher checks run in it.
    const dbs = checkedDatabases(entry.manifest);
    if (check.ok && dbs.some((db) => cypherFor(h, db).length))
      await withScratchServer(ctx, h, scratch, async (query) => {
        for (const db of dbs) {
          scratch.db = db; // the query runs in scratch.db
          await cypherChecks(h, db, query, checks);
        }
      });
  } catch (err) {
    error = errorText(err);
  } finally {
    if (!opts.keep) await ws.cleanup();
  }
  return finish(ctx, h, subject, { target, checks, error });
}

/** The databases a drill runs Cypher checks in: the dump's one, or every one a tar holds but `system`. */
function checkedDatabases(m: Manifest): string[] {
  return m.format === neo4j.TAR_FORMAT ? neo4j.storeDatabases(m).filter((d) => d !== 'system') : [m.target.database];
}

function cypherFor(h: EnvHandle, database: string) {
  return h.env.drill.neo4j.filter((c) => c.database === undefined || c.database === database);
}

/** The configured Cypher smoke tests for database, through query (cypher-shell --format plain). */
async function cypherChecks(
  h: EnvHandle,
  database: string,
  query: (cypher: string) => Promise<Captured>,
  checks: DrillCheck[],
): Promise<void> {
  for (const c of cypherFor(h, database)) {
    const r = await query(c.cypher);
    const got = neo4j.parsePlain(r.stdout);
    checks.push({
      name: c.cypher,
      ok: succeeded(r) && got === c.expect,
      detail: succeeded(r) ? `got "${got}", expected "${c.expect}"` : r.stderrTail.trim(),
    });
  }
}

/** What a drill in a namespace needs to know: the Kubernetes drill settings, its Neo4j part, the pod, the secret. */
interface Neo4jNamespaceDrill {
  k: KubeDrill;
  kn: NonNullable<KubeDrill['neo4j']>;
  pod: string;
  password: string | undefined;
}

/**
 * Neo4j in Kubernetes: a fresh namespace with the Neo4j workload; the production offline restore goes into it
 * (scaled to 0, helper pod on the PVC loads and runs the consistency check, scaled back, rollout), then the Cypher
 * checks run in its pod through cypher-shell, the password as NEO4J_PASSWORD.
 */
async function drillNeo4jInNamespace(
  ctx: AppContext,
  h: EnvHandle,
  entry: Awaited<ReturnType<typeof resolveBackup>>,
  opts: DrillOptions,
): Promise<DrillReport> {
  const k = h.env.drill.kubernetes as KubeDrill;
  const kn = k.neo4j as NonNullable<KubeDrill['neo4j']>;
  const d: Neo4jNamespaceDrill = { k, kn, pod: kn.pod ?? `${kn.statefulSet}-0`, password: undefined };
  const subject = drillSubject(ctx, {
    engine: 'neo4j',
    database: entry.manifest.target.database,
    key: entry.key,
    keep: opts.keep,
  });
  if (kn.password) {
    d.password = await resolveSecret(kn.password, ctx.environ, `envs.${h.name}.drill.kubernetes.neo4j.password`);
    ctx.secrets.add(d.password);
  }
  return inDrillNamespace(
    ctx,
    k,
    { engine: 'neo4j', manifest: kn.manifest, pod: d.pod },
    opts,
    async (ns) => {
      const { checks, error } = await restoreAndCheckInNamespace(ctx, h, entry, d, ns);
      const target = `${d.pod} (StatefulSet ${kn.statefulSet}) in namespace ${ns}`;
      return finish(ctx, h, subject, { target, checks, error });
    },
    (ns, error) => finish(ctx, h, subject, { target: `namespace ${ns}`, checks: [], error }),
  );
}

/** The env's Neo4j section as seen from the drill namespace: community edition, offline into its StatefulSet. */
function neo4jSectionIn(ctx: AppContext, h: EnvHandle, d: Neo4jNamespaceDrill, ns: string): Neo4jConfig {
  const { k, kn } = d;
  return neo4jSchema.parse({
    ...(h.env.neo4j ?? {}),
    edition: 'community', // offline into the throwaway workload, whatever the source's edition
    transport: kubeTransport(ctx, k, ns, d.pod, kn.container),
    kubernetes: {
      statefulSet: kn.statefulSet,
      pvc: kn.pvc,
      image: kn.image,
      mountPath: kn.mountPath,
      helperTimeoutSec: k.readyTimeoutSec,
      rolloutTimeoutSec: k.readyTimeoutSec,
    },
  });
}

/** The production restore into the namespace's Neo4j, then the Cypher checks in its pod; the checks and any error. */
async function restoreAndCheckInNamespace(
  ctx: AppContext,
  h: EnvHandle,
  entry: Awaited<ReturnType<typeof resolveBackup>>,
  d: Neo4jNamespaceDrill,
  ns: string,
): Promise<{ checks: DrillCheck[]; error: string | undefined }> {
  const { k, kn } = d;
  const section = neo4jSectionIn(ctx, h, d, ns);
  const checks: DrillCheck[] = [];
  const transport = await openTransport(ctx, section.transport, `envs.${h.name}.drill.kubernetes.neo4j`);
  try {
    ctx.reporter.step(`drill: restoring ${entry.key} into Neo4j ${kn.statefulSet} of namespace ${ns}`);
    const r = await restoreNeo4j(ctx, inNamespace(h, { neo4j: section }), {
      from: entry.key,
      yes: true,
      lockHeld: true,
    });
    checks.push({
      name: 'neo4j-admin database check',
      ok: r.checked,
      detail: r.checked ? 'no issues found (in the helper pod, before scaling back)' : 'not run',
    });
    const env = { NEO4J_USERNAME: kn.username, ...(d.password ? { NEO4J_PASSWORD: d.password } : {}) };
    const queryIn = (database: string) => (cypher: string) =>
      capture(
        transport,
        { ...neo4j.cypherCommand(kn.cypherShell, kn.boltPort, database), env },
        neo4j.cypherInput(cypher),
      );
    const dbs = checkedDatabases(entry.manifest).filter((db) => cypherFor(h, db).length);
    if (dbs[0]) await waitForCypher(`Neo4j in ${d.pod}`, k.readyTimeoutSec, queryIn(dbs[0]));
    // A tar brings production's system database (its users): the drill's password must be production's then.
    for (const db of dbs) await cypherChecks(h, db, queryIn(db), checks);
    return { checks, error: undefined };
  } catch (err) {
    return { checks, error: errorText(err) };
  } finally {
    await transport.close();
  }
}
