// A real Neo4j Community 5.26 DBMS of its own for a test, from the distribution scripts/services/neo4j.sh assembled
// out of Maven Central (IGBACKUP_NEO4J_DIST): its own home (conf on a free loopback Bolt port, data, logs, run), a
// password, started and answering Cypher; the launchers first on PATH for igbackup.

import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { tempDir } from './cli.js';
import { freePort } from './redis.js';
import { STANDIN_SERVICE } from './neo4j.js';

export interface RealNeo4j {
  home: string;
  port: number;
  /** `<home>/bin/neo4j` and `neo4j-admin`: the launchers with this DBMS's NEO4J_HOME and NEO4J_CONF set (for SSH). */
  bin: { neo4j: string; admin: string };
  /** Environment for igbackup and the launchers: PATH, NEO4J_HOME, NEO4J_CONF. */
  env: Record<string, string>;
  /** Runs Cypher through the real cypher-shell (plain output, header line dropped). */
  cypher: (query: string) => Promise<string>;
  /** Node and relationship counts and a checksum over their properties: equal graphs give equal strings. */
  fingerprint: () => Promise<string>;
  running: () => Promise<boolean>;
  stop: () => Promise<void>;
}

const PASSWORD = 'real-neo4j-test-pw';

export function neo4jDist(): string {
  const dist = process.env.IGBACKUP_NEO4J_DIST;
  if (!dist) throw new Error('IGBACKUP_NEO4J_DIST is not set: run the tests with "npm test" (it assembles Neo4j)');
  return dist;
}

/** A DBMS of its own; with `owner`, its files belong to that user and it runs as that user (the SSH test user). */
export async function realNeo4j(opts: { owner?: string } = {}): Promise<RealNeo4j> {
  const dist = neo4jDist();
  const dir = await tempDir();
  const home = join(dir, 'neo4j');
  for (const d of ['conf', 'data', 'logs', 'run', 'import', 'plugins', 'bin'])
    await mkdir(join(home, d), { recursive: true });
  const port = await freePort();
  await writeFile(
    join(home, 'conf', 'neo4j.conf'),
    [
      'server.default_listen_address=127.0.0.1',
      `server.bolt.listen_address=127.0.0.1:${port}`,
      'server.http.enabled=false',
      'server.https.enabled=false',
      'server.memory.heap.initial_size=256m',
      'server.memory.heap.max_size=512m',
      'server.memory.pagecache.size=64m',
      'dbms.usage_report.enabled=false',
      '',
    ].join('\n'),
  );
  const env = {
    PATH: `${join(dist, 'bin')}:${process.env.PATH}`,
    NEO4J_HOME: home,
    NEO4J_CONF: join(home, 'conf'),
  };
  const bin = { neo4j: join(home, 'bin', 'neo4j'), admin: join(home, 'bin', 'neo4j-admin') };
  for (const [file, name] of [
    [bin.neo4j, 'neo4j'],
    [bin.admin, 'neo4j-admin'],
  ] as const) {
    const script = `#!/bin/sh\nNEO4J_HOME='${home}' NEO4J_CONF='${join(home, 'conf')}' exec '${join(dist, 'bin', name)}' "$@"\n`;
    await writeFile(file, script, { mode: 0o755 });
  }
  if (opts.owner) {
    await chmod(dir, 0o755);
    await execa('chown', ['-R', opts.owner, home]);
  }
  const as = (argv: string[]): string[] => (opts.owner ? ['runuser', '-u', opts.owner, '--', ...argv] : argv);
  const run = (cmd: string, args: string[], input?: string) => {
    const own = cmd === 'neo4j' || cmd === 'neo4j-admin';
    const [file, ...rest] = own ? as([join(home, 'bin', cmd), ...args]) : [join(dist, 'bin', cmd), ...args];
    return execa(file as string, rest, { env: { ...env, NEO4J_PASSWORD: PASSWORD }, input, reject: false });
  };
  await run('neo4j-admin', ['dbms', 'set-initial-password', PASSWORD]);
  const cypher = async (query: string): Promise<string> => {
    const r = await run('cypher-shell', ['-a', `bolt://127.0.0.1:${port}`, '-u', 'neo4j', '--format', 'plain'], query);
    if (r.exitCode !== 0) throw new Error(`cypher-shell: ${r.stderr || r.stdout}`);
    return r.stdout.split('\n').slice(1).join('\n').trim();
  };
  const ready = async (): Promise<void> => {
    for (let i = 0; i < 240; i++) {
      if (
        await cypher('RETURN 1;').then(
          () => true,
          () => false,
        )
      )
        return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`Neo4j in ${home} did not answer on 127.0.0.1:${port}`);
  };
  const started = await run('neo4j', ['start']);
  if (started.exitCode !== 0) throw new Error(`neo4j start: ${started.stderr || started.stdout}`);
  await ready();
  return {
    home,
    port,
    bin,
    env,
    cypher,
    fingerprint: async () =>
      cypher(
        `MATCH (n) WITH count(n) AS nodes, sum(coalesce(n.id, 0)) AS ids, collect(n.name) AS names
         OPTIONAL MATCH ()-[r]->() WITH nodes, ids, names, count(r) AS rels, sum(coalesce(r.since, 0)) AS since
         RETURN nodes, ids, size(names), rels, since;`,
      ),
    running: async () => (await run('neo4j', ['status'])).exitCode === 0,
    stop: async () => void (await run('neo4j', ['stop'])),
  };
}

/** neo4j.service for the real launchers on PATH; a stop that may take a while on two shared cores. */
export const realService = { ...STANDIN_SERVICE, readyTimeoutSec: 180, startAttempts: 2 };
