// A stand-in Neo4j (test/fixtures/neo4j: the service script and neo4j-admin following the documented argv) with its
// own home, store file and call log, started; and the stand-in kubectl next to it on PATH.

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { ROOT, tempDir } from './cli.js';

export const N4J = join(ROOT, 'test', 'fixtures', 'neo4j');

/** neo4j.service for the stand-in: its own script on PATH (neo4j start|stop|status). */
export const STANDIN_SERVICE = {
  stop: ['neo4j', 'stop'],
  start: ['neo4j', 'start'],
  status: ['neo4j', 'status'],
  readyTimeoutSec: 5,
  startAttempts: 3,
};
export const KUBE = join(ROOT, 'test', 'fixtures', 'kube');

export interface Neo4jHome {
  dir: string;
  home: string;
  log: string;
  store: string;
  env: (extra?: Record<string, string>) => Record<string, string>;
  /** The stand-in service script (start, stop, status); never throws. */
  ctl: (action: string) => ReturnType<typeof execa>;
  running: () => Promise<boolean>;
  calls: () => Promise<string[]>;
  clearCalls: () => Promise<void>;
}

/** A started stand-in Neo4j with a 200 kB store for database "neo4j"; its call log empty. */
export async function neo4jHome(): Promise<Neo4jHome> {
  const dir = await tempDir();
  const home = join(dir, 'neo4j-home');
  const store = join(home, 'data', 'databases', 'neo4j', 'store');
  await mkdir(join(home, 'data', 'databases', 'neo4j'), { recursive: true });
  await writeFile(store, randomBytes(200_000));
  const log = join(dir, 'calls.log');
  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    PATH: `${N4J}:${KUBE}:${process.env.PATH}`,
    IGB_NEO4J_HOME: home,
    IGB_NEO4J_LOG: log,
    ...extra,
  });
  await execa(join(N4J, 'neo4j'), ['start'], { env: env() });
  await writeFile(log, '');
  const ctl = (action: string) => execa(join(N4J, 'neo4j'), [action], { env: env(), reject: false });
  return {
    dir,
    home,
    log,
    store,
    env,
    ctl,
    running: async () => (await ctl('status')).exitCode === 0,
    calls: async () =>
      (await readFile(log, 'utf8'))
        .trim()
        .split('\n')
        .filter((l) => l && !l.startsWith('neo4j status')),
    clearCalls: () => writeFile(log, ''),
  };
}

/** The stand-in cluster's state for Neo4j in namespace graph: StatefulSet neo4j (1 replica), its PVC, pod neo4j-0. */
export async function writeKubeState(dir: string): Promise<string> {
  const state = join(dir, 'kube-state.json');
  await writeFile(
    state,
    JSON.stringify({
      statefulsets: { neo4j: { replicas: 1 } },
      persistentvolumeclaims: { 'data-neo4j-0': {} },
      pods: [
        {
          metadata: { name: 'neo4j-0', namespace: 'graph', labels: { app: 'neo4j' } },
          status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
        },
      ],
    }),
  );
  return state;
}
