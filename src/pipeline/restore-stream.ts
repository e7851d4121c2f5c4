// Restore side: download an artifact to a private temp file while hashing it, then feed it to a consumer process.

import { constants, createReadStream, createWriteStream } from 'node:fs';
import { access, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ConfigError, IntegrityError, ProcessFailedError } from '../domain/errors.js';
import type { ObjectStore } from '../storage/store.js';
import { reasonOf, succeeded, type RunningCommand } from '../transports/transport.js';
import type { Stage } from './compress.js';
import { ForwardUnlessFailed } from './forward.js';
import { HashCounter, type Digest } from './hash.js';
import { readSegments, type StoredSegment } from './segments.js';

export interface Workspace {
  dir: string;
  cleanup(): Promise<void>;
}

/** A private (mode 700) temp directory for downloaded artifacts. */
export async function makeWorkspace(base?: string): Promise<Workspace> {
  if (base !== undefined) await checkTmpDir(base);
  const dir = await mkdtemp(join(base ?? tmpdir(), 'igbackup-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A --tmp-dir must be an existing directory this user can write: bad input (exit 2) otherwise, said up front. */
export async function checkTmpDir(dir: string): Promise<void> {
  const st = await stat(dir).catch(() => undefined);
  const why = !st
    ? 'does not exist'
    : !st.isDirectory()
      ? 'is not a directory'
      : await access(dir, constants.W_OK).then(
          () => undefined,
          () => 'is not writable',
        );
  if (why)
    throw new ConfigError(`--tmp-dir ${dir} ${why}`, [], {
      hint: 'give an existing directory this user can write, with room for the artifact',
    });
}

/** What a download must give: the artifact's size and sha256, and its segments when it was stored in several. */
type Expected = Digest & { segments?: StoredSegment[] | undefined };

/**
 * Downloads `key` (or the segments `expected` lists, in order), hashing on the way, into `path` — as stored, or decompressed through `decompress` in the same
 * pass. Rejects with IntegrityError (and removes the file) unless size and sha256 equal `expected`; a decompressor
 * failure is reported only when the bytes themselves matched. On every failure (a missing or short object included)
 * the decompressor is killed before this rejects; a cancellation rejects with the signal's reason.
 */
export async function downloadVerified(
  store: ObjectStore,
  key: string,
  path: string,
  expected: Expected,
  opts: { onBytes?: (bytes: number) => void; signal?: AbortSignal | undefined; decompress?: Stage } = {},
): Promise<Digest> {
  try {
    return await download(store, key, path, expected, opts);
  } catch (err) {
    opts.decompress?.kill();
    await rm(path, { force: true });
    if (opts.signal?.aborted && !(err instanceof IntegrityError)) throw reasonOf(opts.signal);
    throw err;
  }
}

async function download(
  store: ObjectStore,
  key: string,
  path: string,
  expected: Expected,
  opts: { onBytes?: (bytes: number) => void; signal?: AbortSignal | undefined; decompress?: Stage },
): Promise<Digest> {
  const body = expected.segments
    ? readSegments(store, expected.segments, opts.signal)
    : await store.get(key, { signal: opts.signal });
  const hash = new HashCounter(opts.onBytes);
  const file = createWriteStream(path, { mode: 0o600 });
  const d = opts.decompress;
  if (!d) {
    await pipeline(body, hash, file, { signal: opts.signal });
    checkDigest(key, hash.digest(), expected);
    return hash.digest();
  }
  const toFile = pipeline(d.stream, file);
  toFile.catch(() => undefined); // awaited below unless the download or the digest check fails first
  await pipeline(body, hash, new ForwardUnlessFailed(d.stream), { signal: opts.signal });
  checkDigest(key, hash.digest(), expected);
  await Promise.all([toFile, d.done]);
  return hash.digest();
}

function checkDigest(key: string, got: Digest, expected: Digest): void {
  const problems: string[] = [];
  if (got.bytes !== expected.bytes) problems.push(`size ${got.bytes} bytes, manifest says ${expected.bytes}`);
  if (got.sha256 !== expected.sha256) problems.push(`sha256 ${got.sha256}, manifest says ${expected.sha256}`);
  if (problems.length) {
    throw new IntegrityError(`artifact ${key} does not match its manifest: ${problems.join('; ')}`, {
      hint: 'the artifact is corrupt or was replaced; choose another backup (igbackup list)',
    });
  }
}

/** Streams a verified local file through decompression into a consumer's stdin; rejects unless all exit cleanly. */
export async function feedFile(
  path: string,
  decompress: Stage,
  consumer: RunningCommand,
  onBytes?: (bytes: number) => void,
  /** What the consumer must receive (decompressed); known by itself when the stage passes bytes through. */
  expectedBytes?: number,
): Promise<void> {
  const stdin = consumer.stdin;
  if (!stdin) throw new Error(`${consumer.name} was started without stdin`);
  const progress = new HashCounter(onBytes);
  const fed = new HashCounter(); // what the consumer receives, for a remote transport's trailer check
  const flow = pipeline(createReadStream(path), progress, decompress.stream, fed, stdin);
  let flowError: unknown;
  await flow.catch((err: unknown) => {
    // The consumer closing its stdin early (EPIPE) shows up in its exit status; keep the first real error. A close
    // after every byte (see closedAfterAll) is judged below, once the consumer's exit status is known.
    flowError = err;
    if (!closedAfterAll(err)) decompress.kill();
  });
  const result = await consumer.done;
  if (result.cancelled) throw result.cancelled;
  if (!succeeded(result)) {
    decompress.kill();
    throw new ProcessFailedError(consumer.name, result);
  }
  const stageError = await decompress.done.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (flowError !== undefined || stageError !== undefined) {
    const total = expectedBytes ?? (decompress.identity ? (await stat(path)).size : undefined);
    const everyByte = total !== undefined && fed.digest().bytes === total;
    if (stageError !== undefined && !(everyByte && closedAfterAll(stageError))) throw stageError;
    if (flowError !== undefined && !(everyByte && closedAfterAll(flowError))) {
      decompress.kill();
      throw flowError;
    }
  }
  await consumer.verify?.(fed.digest());
}

/**
 * A consumer that read every byte and exited 0 may close its stdin before our end of the pipe has finished: the
 * pipeline then reports a premature close (or EPIPE) although nothing was lost. Only that case, with every byte
 * handed to stdin (counted against what the consumer must receive), is not a failure.
 */
function closedAfterAll(err: unknown): boolean {
  const code = (err as { code?: string } | undefined)?.code;
  return code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'EPIPE';
}
