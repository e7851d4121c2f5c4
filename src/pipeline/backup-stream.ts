// Producer -> sha256/count -> compression -> sha256/count gate -> object store; complete only if every part succeeded.

import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { CancelledError, IntegrityError, ProcessFailedError } from '../domain/errors.js';
import { notesOf, withNote } from '../domain/notes.js';
import type { ObjectStore } from '../storage/store.js';
import { succeeded, type RunningCommand } from '../transports/transport.js';
import type { Stage } from './compress.js';
import { HashCounter, HashGate, type Digest } from './hash.js';
import { roundTrip, roundTripProblem } from './round-trip.js';
import { putSegmented, removeSegments, type SegmentedPutResult } from './segments.js';

/** How long a broken stream waits for the dying process's exit status before reporting the stream error. */
const STAGE_EXIT_GRACE_MS = 2000;

export interface StreamToStoreInput {
  producer: RunningCommand;
  compression: Stage;
  store: ObjectStore;
  key: string;
  sizeEstimate?: number | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ((p: { rawBytes: number; storedBytes: number }) => void) | undefined;
  /** Extra completion check on what the producer wrote (e.g. a transport trailer); reject to fail the backup. */
  checkRaw?: ((raw: Digest) => Promise<void>) | undefined;
  /** Hint shown when the producer fails. */
  producerHint?: string | undefined;
  /**
   * How the stored bytes are proven to be what the producer wrote: a decompressor the stored stream is also fed to
   * ('round-trip'), or 'identity' when nothing is compressed (stored sha256 = raw sha256).
   */
  proof?: { roundTrip: Stage } | 'identity' | undefined;
  /** What a complete output of this producer starts with (e.g. "PGDMP"): an output that does not is refused. */
  magic?: { bytes: Buffer; format: string } | undefined;
  /** Kill and fail when the producer writes nothing for this long (a local pg_dump waiting on a lock, say). */
  idleTimeoutMs?: number | undefined;
}

export interface StreamToStoreResult {
  raw: Digest;
  stored: Digest;
  put: SegmentedPutResult;
}

/**
 * Streams the producer's stdout into the store. The upload is completed only after the producer and the
 * compressor exited 0 and checkRaw passed; otherwise the gate errors, the store aborts the upload and this
 * rejects with the first cause (the producer's failure and stderr tail, when that came first).
 */
export async function streamToStore(input: StreamToStoreInput): Promise<StreamToStoreResult> {
  const { producer, compression } = input;
  let rawBytes = 0;
  const idle = watchIdle(input.idleTimeoutMs, (secs) =>
    fail(
      new ProcessFailedError(producer.name, {
        stderrTail: '',
        startError: `no data from ${producer.name} for ${secs} s (idle timeout)`,
      }),
    ),
  );
  const raw = new HashCounter((b) => {
    rawBytes = b;
    idle.arm();
  });
  let primary: unknown;
  const abort = new AbortController();
  const producerOk = producer.done.then((r) => {
    if (r.cancelled) throw r.cancelled;
    if (!succeeded(r))
      throw new ProcessFailedError(producer.name, r, input.producerHint ? { hint: input.producerHint } : {});
  });
  const rt = input.proof && input.proof !== 'identity' ? roundTrip(input.proof.roundTrip) : undefined;
  const verdict = verdictOf(input, raw, rt, producerOk);
  const gate = new HashGate(verdict, (storedBytes) => input.onProgress?.({ rawBytes, storedBytes }));

  const fail = (err: unknown): void => {
    if (primary !== undefined) return;
    primary = err;
    producer.kill();
    compression.kill();
    rt?.kill();
    producer.stdout.destroy();
    gate.destroy(err instanceof Error ? err : new Error(String(err)));
    abort.abort(err);
  };
  const onOuterAbort = (): void => fail(input.signal?.reason ?? new CancelledError('cancelled'));
  if (input.signal?.aborted) onOuterAbort();
  input.signal?.addEventListener('abort', onOuterAbort, { once: true });

  const flow = rt
    ? pipeline(producer.stdout, raw, compression.stream, rt.tee, gate)
    : pipeline(producer.stdout, raw, compression.stream, gate);
  const put = putSegmented(input.store, input.key, gate, { sizeEstimate: input.sizeEstimate, signal: abort.signal });
  const endGrace = routeFailures({ producerOk, compressed: compression.done, flow, put }, fail);

  const settled = await Promise.allSettled([put, flow, producerOk, compression.done]);
  idle.stop();
  endGrace();
  input.signal?.removeEventListener('abort', onOuterAbort);
  const failure = primary ?? settled.find((r) => r.status === 'rejected')?.reason;
  return { raw: raw.digest(), stored: gate.digest(), put: await outcome(input, settled[0], failure, gate.digest()) };
}

/**
 * The gate's verdict before the upload may complete: the producer and the compressor exited 0, checkRaw passed, and
 * the stored bytes are proven to be what the producer wrote (round trip or identity, format magic).
 */
function verdictOf(
  input: StreamToStoreInput,
  raw: HashCounter,
  rt: ReturnType<typeof roundTrip> | undefined,
  producerOk: Promise<void>,
): (stored: Digest) => Promise<void> {
  return async (stored) => {
    await producerOk;
    await input.compression.done;
    await input.checkRaw?.(raw.digest());
    const problem = outputProblem(input, raw, stored, rt && (await rt.result));
    if (problem)
      throw new IntegrityError(
        `${input.producer.name}'s output for ${input.key} is not a complete backup: ${problem}`,
        {
          hint: 'nothing was stored; check the producer and the compressor on this machine (see the message)',
        },
      );
  };
}

/**
 * Sends each part's failure to fail(), so that the first real cause wins; returns what ends the grace timers once
 * everything settled (no timer outlives the run).
 */
function routeFailures(
  parts: {
    producerOk: Promise<void>;
    compressed: Promise<void>;
    flow: Promise<void>;
    put: Promise<SegmentedPutResult>;
  },
  fail: (err: unknown) => void,
): () => void {
  const { producerOk, compressed, flow, put } = parts;
  // A broken pipe is a consequence: a stage that dies shows up first as EPIPE in the flow, or as a process killed by
  // SIGPIPE because its reader went away. Such errors wait briefly for the real cause (an exit status, the store's
  // own failure) before they may count as the first.
  const finished = new AbortController();
  const grace = (): Promise<void> =>
    sleep(STAGE_EXIT_GRACE_MS, undefined, { signal: finished.signal }).catch(() => undefined);
  const others = (): Promise<unknown> => Promise.race([Promise.allSettled([producerOk, compressed, put]), grace()]);
  const failSoon = async (err: unknown): Promise<void> => {
    if (err instanceof ProcessFailedError && err.signal === 'SIGPIPE') await others();
    fail(err);
  };
  producerOk.catch(failSoon);
  compressed.catch(failSoon);
  flow.catch((err: unknown) => others().then(() => fail(err)));
  // A store failure can be a consequence too (a stage that died ends the body mid-request: EPIPE, or the body's own
  // error): it waits as briefly for the stages' exit statuses, which name the real cause when there is one.
  const stagesSettled = (): Promise<unknown> => Promise.race([Promise.allSettled([producerOk, compressed]), grace()]);
  put.catch((err: unknown) => stagesSettled().then(() => fail(err)));
  return () => finished.abort();
}

/** The round trip, the identity or the format magic disagreeing with what the producer wrote (pure). */
function outputProblem(
  input: StreamToStoreInput,
  raw: HashCounter,
  stored: Digest,
  back: Digest | undefined,
): string | undefined {
  const r = raw.digest();
  const lost = back ? roundTripProblem(r, back) : undefined;
  if (lost) return lost;
  if (input.proof === 'identity' && (stored.bytes !== r.bytes || stored.sha256 !== r.sha256))
    return `${stored.bytes} bytes stored, ${r.bytes} written`;
  if (input.magic && !raw.head.subarray(0, input.magic.bytes.length).equals(input.magic.bytes)) {
    return `it does not start like a ${input.magic.format} (${r.bytes} bytes, starting ${JSON.stringify(raw.head.toString('latin1').slice(0, 8))})`;
  }
  return undefined;
}

/** Calls onIdle when arm() was not called for timeoutMs (armed at once); stop() ends the watch. */
function watchIdle(
  timeoutMs: number | undefined,
  onIdle: (secs: number) => void,
): { arm: () => void; stop: () => void } {
  if (!timeoutMs) return { arm: () => undefined, stop: () => undefined };
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const arm = (): void => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => onIdle(Math.round(timeoutMs / 1000)), timeoutMs);
  };
  arm();
  return {
    arm,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/** The put's result if everything succeeded and the counts agree; otherwise nothing of the upload stays, and the
 * error says so (the store removed what a failed put left; a put that completed is undone here, by its version). */
async function outcome(
  input: StreamToStoreInput,
  put: PromiseSettledResult<SegmentedPutResult>,
  failure: unknown,
  stored: Digest,
): Promise<SegmentedPutResult> {
  if (put.status === 'rejected') throw carryNotes(failure, put.reason);
  let why = failure;
  if (why === undefined && stored.bytes !== put.value.bytes) {
    why = new IntegrityError(
      `byte count mismatch for ${input.key}: ${stored.bytes} bytes hashed, ${put.value.bytes} stored`,
    );
  }
  if (why === undefined) return put.value;
  throw await removeStored(input.store, put.value, why);
}

/** `failure`, with the notes the store added to its own rejection (what it removed or left). */
function carryNotes(failure: unknown, putError: unknown): Error {
  if (failure === putError) return failure as Error;
  return notesOf(putError).reduce<Error>(
    (e, n) => withNote(e, n),
    failure instanceof Error ? failure : new Error(String(failure)),
  );
}

/** Removes what an upload completed (every segment) although the backup failed or was cancelled, saying so in the error. */
export async function removeStored(store: ObjectStore, put: SegmentedPutResult, failure: unknown): Promise<Error> {
  return removeSegments(store, put.segments ?? [put], failure);
}
