// Local transport: runs commands on this machine with execa (no shell), secrets through the environment.

import { execa } from 'execa';
import { hostname } from 'node:os';
import { PassThrough } from 'node:stream';
import { TailBuffer } from './tail.js';
import type { CommandSpec, ExitResult, RunningCommand, Transport } from './transport.js';

const KILL_GRACE_MS = 5000;

export class LocalTransport implements Transport {
  readonly kind = 'local';
  readonly host = hostname();

  async close(): Promise<void> {
    // nothing to release
  }

  start(spec: CommandSpec): RunningCommand {
    const [file, ...args] = spec.argv;
    if (!file) throw new Error('empty argv');
    const child = execa(file, args, {
      env: spec.env ?? {},
      extendEnv: true,
      stdin: spec.stdin === 'pipe' ? 'pipe' : 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      stripFinalNewline: false,
      forceKillAfterDelay: KILL_GRACE_MS,
    });
    const tail = new TailBuffer();
    const stderrDone = tail.drain(child.stderr);
    const stdout = child.stdout ?? new PassThrough().end();
    const done: Promise<ExitResult> = child.then(
      async (r) => {
        await stderrDone;
        const startError = r.failed && r.exitCode === undefined && !r.signal ? r.shortMessage : undefined;
        return {
          exitCode: r.exitCode,
          signal: r.signal,
          stderrTail: startError && /ENOENT/.test(startError) ? `${file}: command not found on PATH` : tail.text(),
          startError,
        };
      },
      (err: Error) => ({ exitCode: undefined, signal: undefined, stderrTail: tail.text(), startError: err.message }),
    );
    let killed = false;
    return {
      name: file.split('/').pop() ?? file,
      stdout,
      stdin: child.stdin ?? undefined,
      done,
      kill: () => {
        if (killed) return;
        killed = true;
        child.kill('SIGTERM');
        // Nobody will read or write them any more; an unread pipe would keep the exit promise pending.
        child.stdout?.destroy();
        child.stdin?.destroy();
      },
    };
  }
}
