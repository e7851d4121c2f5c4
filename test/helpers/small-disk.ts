// Runs the built CLI with a small real file system (tmpfs) as its temp dir, for the "no space" paths.

import assert from 'node:assert/strict';
import { execa } from 'execa';
import { BIN, type CliResult } from './cli.js';
import { pg } from './servers.js';

/**
 * Runs the CLI with a tmpfs of `sizeKiB` mounted at `mountpoint`, in a mount namespace of its own (so the mount
 * vanishes with the process): root uses unshare --mount, anyone else a user namespace as well.
 */
export async function runWithSmallDisk(
  mountpoint: string,
  sizeKiB: number,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<CliResult> {
  const ns = process.getuid?.() === 0 ? ['--mount'] : ['--mount', '--map-root-user'];
  const script = 'mount -t tmpfs -o size="$1"k tmpfs "$2" || exit 99; shift 2; exec node "$@"';
  const r = await execa('unshare', [...ns, 'sh', '-c', script, 'sh', String(sizeKiB), mountpoint, BIN, ...args], {
    cwd,
    env: { NO_COLOR: '1', TEST_PG_PASSWORD: pg.password, ...env },
    reject: false,
    timeout: 120_000,
  });
  assert.notEqual(r.exitCode, 99, `could not mount a tmpfs in a private mount namespace: ${String(r.stderr)}`);
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}
