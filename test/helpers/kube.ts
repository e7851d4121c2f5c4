// The stand-in kubectl's cluster: a pods file ($IGB_KUBE_PODS) holding one Running, Ready pod.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Writes `<dir>/pods.json` with one Running and Ready pod; returns its path. */
export async function writeReadyPod(dir: string, pod = { name: 'pg-0', namespace: 'db', labels: { app: 'pg' } as Record<string, string> }): Promise<string> {
  const path = join(dir, 'pods.json');
  const item = { metadata: pod, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } };
  await writeFile(path, JSON.stringify({ items: [item] }));
  return path;
}
