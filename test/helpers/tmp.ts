// Temp directories for tests: removed when the test file's process exits cleanly, kept after a failure to look at.

import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];
process.once('exit', (code) => {
  if (code !== 0) return;
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

export async function scratchDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
