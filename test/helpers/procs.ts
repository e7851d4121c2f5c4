// Whether a process still runs: a zombie (exited, not yet reaped by PID 1 here) counts as gone.

import { readFileSync } from 'node:fs';

export function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Polls until the process is gone (a SIGKILL is delivered asynchronously); false if it still runs after timeoutMs. */
export async function gone(pid: number, timeoutMs = 2000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (running(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** The pids still running after graceMs. */
export async function survivors(pids: number[], graceMs = 1000): Promise<number[]> {
  const left = await Promise.all(pids.map(async (p) => ((await gone(p, graceMs)) ? undefined : p)));
  return left.filter((p): p is number => p !== undefined);
}
