// The stand-in kubectl's cluster: a pods file ($IGB_KUBE_PODS) holding one Running, Ready pod.

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Writes `<dir>/pods.json` with one Running and Ready pod; returns its path. */
export async function writeReadyPod(
  dir: string,
  pod = { name: 'pg-0', namespace: 'db', labels: { app: 'pg' } as Record<string, string> },
): Promise<string> {
  const path = join(dir, 'pods.json');
  const item = { metadata: pod, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } };
  await writeFile(path, JSON.stringify({ items: [item] }));
  return path;
}

/**
 * The stand-in kubectl's call log ($IGB_KUBECTL_LOG), one argv per call, with `--request-timeout=60s` taken out after
 * checking that every call that is not a wait (wait, rollout status: bounded by their --timeout) or an exec carried it.
 */
export async function kubectlCalls(log: string): Promise<string[][]> {
  const calls = (await readFile(log, 'utf8'))
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as string[]);
  for (const c of calls) {
    const bounded =
      c.includes('wait') || c.includes('rollout') || c.includes('exec') || c.some((x) => x.startsWith('--timeout='));
    const getPods = c.includes('get') && c.includes('pods');
    if (!bounded && !getPods && !c.includes('--request-timeout=60s'))
      throw new Error(`kubectl called without a bound: ${c.join(' ')}`);
  }
  return calls.map((c) => c.filter((x) => x !== '--request-timeout=60s'));
}
