// Producer -> sha256/count -> compression -> sha256/count gate -> object store; complete only if every part succeeded.

import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { CancelledError, IntegrityError, ProcessFailedError } from '../domain/errors.js';
import { notesOf, withNote } from '../domain/notes.js';
import type { ObjectStore, PutResult } from '../storage/store.js';
import { succeeded, type RunningCommand } from '../transports/transport.js';
import type { Stage } from './compress.js';
import { HashCounter, HashGate, type Digest } from './hash.js';

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
}

export interface StreamToStoreResult {
  raw: Digest;
  stored: Digest;
  put: PutResult;
}

/**
 * Streams the producer's stdout into the store. The upload is completed only after the producer and the
 * compressor exited 0 and checkRaw passed; otherwise the gate errors, the store aborts the upload and this
 * rejects with the first cause (the producer's failure and stderr tail, when that came first).
 */
export async function streamToStore(input: StreamToStoreInput): Promise<StreamToStoreResult> {
  const { producer, compression } = input;
  let rawBytes = 0;
  const raw = new HashCounter((b) => (rawBytes = b));
  let primary: unknown;
  const abort = new AbortController();
  const producerOk = producer.done.then((r) => {
    if (r.cancelled) throw r.cancelled;
    if (!succeeded(r)) throw new ProcessFailedError(producer.name, r, input.producerHint ? { hint: input.producerHint } : {});
  });
  const verdict = async (): Promise<void> => {
    await producerOk;
    await compression.done;
    await input.checkRaw?.(raw.digest());
  };
  const gate = new HashGate(verdict, (storedBytes) => input.onProgress?.({ rawBytes, storedBytes }));

  const fail = (err: unknown): void => {
    if (primary !== undefined) return;
    primary = err;
    producer.kill();
    compression.kill();
    producer.stdout.destroy();
    gate.destroy(err instanceof Error ? err : new Error(String(err)));
    abort.abort(err);
  };
  const onOuterAbort = (): void => fail(input.signal?.reason ?? new CancelledError('cancelled'));
  if (input.signal?.aborted) onOuterAbort();
  input.signal?.addEventListener('abort', onOuterAbort, { once: true });

  const flow = pipeline(producer.stdout, raw, compression.stream, gate);
  const put = input.store.put(input.key, gate, { sizeEstimate: input.sizeEstimate, signal: abort.signal });
  // A broken pipe is a consequence: a stage that dies shows up first as EPIPE in the flow, or as a process killed by
  // SIGPIPE because its reader went away. Such errors wait briefly for the real cause (an exit status, the store's
  // own failure) before they may count as the first.
  const finished = new AbortController(); // ends the grace timers once everything settled: no timer outlives the run
  const grace = (): Promise<void> => sleep(STAGE_EXIT_GRACE_MS, undefined, { signal: finished.signal }).catch(() => undefined);
  const others = (): Promise<unknown> => Promise.race([Promise.allSettled([producerOk, compression.done, put]), grace()]);
  const failSoon = async (err: unknown): Promise<void> => {
    if (err instanceof ProcessFailedError && err.signal === 'SIGPIPE') await others();
    fail(err);
  };
  producerOk.catch(failSoon);
  compression.done.catch(failSoon);
  flow.catch(async (err: unknown) => {
    await others();
    fail(err);
  });
  put.catch(fail);

  const settled = await Promise.allSettled([put, flow, producerOk, compression.done]);
  finished.abort();
  input.signal?.removeEventListener('abort', onOuterAbort);
  const failure = primary ?? settled.find((r) => r.status === 'rejected')?.reason;
  return { raw: raw.digest(), stored: gate.digest(), put: await outcome(input, settled[0], failure, gate.digest()) };
}

/** The put's result if everything succeeded and the counts agree; otherwise nothing of the upload stays, and the
 * error says so (the store removed what a failed put left; a put that completed is undone here, by its version). */
async function outcome(input: StreamToStoreInput, put: PromiseSettledResult<PutResult>, failure: unknown, stored: Digest): Promise<PutResult> {
  if (put.status === 'rejected') throw carryNotes(failure, put.reason);
  let why = failure;
  if (why === undefined && stored.bytes !== put.value.bytes) {
    why = new IntegrityError(`byte count mismatch for ${input.key}: ${stored.bytes} bytes hashed, ${put.value.bytes} stored`);
  }
  if (why === undefined) return put.value;
  throw await removeStored(input.store, put.value, why);
}

/** `failure`, with the notes the store added to its own rejection (what it removed or left). */
function carryNotes(failure: unknown, putError: unknown): Error {
  if (failure === putError) return failure as Error;
  return notesOf(putError).reduce<Error>((e, n) => withNote(e, n), failure instanceof Error ? failure : new Error(String(failure)));
}

/** Removes an object whose upload completed although the backup failed or was cancelled, saying so in the error. */
export async function removeStored(store: ObjectStore, put: PutResult, failure: unknown): Promise<Error> {
  const where = `${store.description}/${put.key}${put.versionId ? ` (version ${put.versionId})` : ''}`;
  try {
    await store.delete(put.key, put.versionId);
    return withNote(failure, `${where} had been stored completely and was removed`);
  } catch (err) {
    return withNote(failure, `${where} was stored completely and could not be removed (${(err as Error).message}); it has no manifest, so it is not a backup: remove it`);
  }
}
