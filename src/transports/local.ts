// Local transport: runs commands on this machine (no shell), each in its own process group, secrets through the
// environment.

import { hostname } from 'node:os';
import { spawnChild } from './child.js';
import { TailBuffer } from './tail.js';
import { reasonOf, type CommandSpec, type ExitResult, type RunningCommand, type Transport } from './transport.js';

export class LocalTransport implements Transport {
  readonly kind = 'local';
  readonly host = hostname();

  /** `signal`: the run's cancellation; commands running when it aborts are ended. */
  constructor(private readonly signal?: AbortSignal) {}

  async close(): Promise<void> {
    // nothing to release
  }

  start(spec: CommandSpec): RunningCommand {
    const [file, ...args] = spec.argv;
    if (!file) throw new Error('empty argv');
    const child = spawnChild(file, args, { env: spec.env, stdin: spec.stdin === 'pipe' ? 'pipe' : 'ignore' });
    const tail = new TailBuffer();
    void tail.drain(child.stderr);
    let cancelled: Error | undefined;
    const kill = (): void => {
      child.kill();
      // Nobody will read it any more; the process may block writing to a full pipe otherwise.
      child.stdout.destroy();
    };
    const onAbort = (): void => {
      cancelled = reasonOf(this.signal);
      kill();
    };
    if (this.signal && !this.signal.aborted) this.signal.addEventListener('abort', onAbort, { once: true });
    const done: Promise<ExitResult> = child.exit.then((e) => {
      this.signal?.removeEventListener('abort', onAbort);
      return {
        exitCode: e.error ? undefined : e.code,
        signal: e.signal,
        stderrTail: e.error ? `${tail.text().trim()}\n${e.error}`.trim() : tail.text(),
        startError: e.error,
        cancelled,
      };
    });
    return { name: child.name, stdout: child.stdout, stdin: child.stdin, done, kill };
  }
}
