// Runs a command to completion through any transport, collecting stdout (small outputs: versions, query results).

import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ProcessFailedError } from '../domain/errors.js';
import { succeeded, type CommandSpec, type ExitResult, type Transport } from './transport.js';

export interface Captured extends ExitResult {
  stdout: string;
}

/** Runs spec, optionally feeding `input` to stdin; never throws for a non-zero exit, but throws the run's cancellation
 * reason when the run was cancelled while it ran. */
export async function capture(transport: Transport, spec: CommandSpec, input?: string | Buffer): Promise<Captured> {
  const cmd = transport.start({ ...spec, stdin: input === undefined ? 'ignore' : 'pipe' });
  if (input !== undefined && cmd.stdin) {
    cmd.stdin.on('error', () => undefined); // EPIPE when the command exits early: its exit status tells
    Readable.from([Buffer.from(input)]).pipe(cmd.stdin);
  }
  const chunks: Buffer[] = [];
  cmd.stdout.on('data', (c: Buffer) => chunks.push(c));
  const stdoutDone = new Promise<void>((resolve) => {
    cmd.stdout.once('end', resolve);
    cmd.stdout.once('close', resolve);
    cmd.stdout.once('error', () => resolve());
  });
  let timedOut = false;
  const timer =
    spec.timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          cmd.kill();
        }, spec.timeoutMs);
  const result = await cmd.done.finally(() => clearTimeout(timer));
  await stdoutDone;
  if (result.cancelled) throw result.cancelled;
  if (timedOut)
    return {
      ...result,
      exitCode: undefined,
      startError: `no answer within ${((spec.timeoutMs ?? 0) / 1000).toFixed((spec.timeoutMs ?? 0) < 10_000 ? 1 : 0)} s (killed)`,
      stdout: '',
    };
  const out = Buffer.concat(chunks);
  if (succeeded(result) && cmd.verify) {
    // Remote transports: the trailer covers stdin (when input was fed) or stdout.
    const seen = input === undefined ? out : Buffer.from(input);
    await cmd.verify({ bytes: seen.length, sha256: createHash('sha256').update(seen).digest('hex') });
  }
  return { ...result, stdout: out.toString('utf8') };
}

/** Like capture, but throws ProcessFailedError unless the command exited 0. */
export async function captureOk(transport: Transport, spec: CommandSpec, input?: string | Buffer): Promise<string> {
  const r = await capture(transport, spec, input);
  if (!succeeded(r)) throw new ProcessFailedError(spec.argv[0] ?? '?', r);
  return r.stdout;
}
