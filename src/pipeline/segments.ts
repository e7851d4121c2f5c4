// Artifacts larger than one object may be (S3's 10,000 parts of a part size the memory budget caps, or a configured
// segment size) are stored as consecutive segments: the first at the artifact's key, the n-th at segmentKey(key, n).
// One writer cuts the stream; one reader puts the segments back together, each checked against the manifest.

import { createHash, type Hash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import { ConfigError, IntegrityError } from '../domain/errors.js';
import { MAX_SEGMENTS } from '../domain/parts.js';
import { segmentKey } from '../domain/keys.js';
import { withNote } from '../domain/notes.js';
import type { ObjectStore, PutOptions, PutResult } from '../storage/store.js';

/** One stored segment, as the manifest lists it. */
export interface StoredSegment {
  key: string;
  bytes: number;
  sha256: string;
  versionId?: string | undefined;
  etag?: string | undefined;
}

/** A put that may have been stored in segments: then `bytes` is their sum and `segments` lists them in order. */
export interface SegmentedPutResult extends PutResult {
  segments?: StoredSegment[] | undefined;
}

interface Open {
  key: string;
  pass: PassThrough;
  hash: Hash;
  bytes: number;
  put: Promise<PutResult>;
}

/**
 * Stores `body` at `key`, in segments when it outgrows what the store takes as one object. Each segment is a put
 * with the store's guarantees; they are written one after the other (memory stays that of one upload). Rejects when
 * the body errors or a put fails, after removing the segments already completed (the error's notes say so).
 */
export async function putSegmented(
  store: ObjectStore,
  key: string,
  body: Readable,
  options: PutOptions = {},
): Promise<SegmentedPutResult> {
  const limit = store.maxPutBytes(options.sizeEstimate);
  if (limit === undefined) return store.put(key, body, options);
  const done: StoredSegment[] = [];
  const results: PutResult[] = [];
  let open: Open | undefined;
  const start = (): Open => {
    const n = done.length + 1;
    if (n > MAX_SEGMENTS) throw tooManySegments(key, limit);
    const k = n === 1 ? key : segmentKey(key, n);
    const pass = new PassThrough({ highWaterMark: 1024 * 1024 });
    // Destroyed with the body's error before the store attached to it (it may still be opening): the put sees that.
    pass.on('error', () => undefined);
    const put = store.put(k, pass, options);
    put.catch(() => undefined); // awaited where it matters: a failure surfaces through the next write or finish
    return { key: k, pass, hash: createHash('sha256'), bytes: 0, put };
  };
  const finish = async (o: Open): Promise<void> => {
    o.pass.end();
    const r = await o.put;
    // Recorded before it is judged: a stored segment that disagrees is removed with the others.
    results.push(r);
    done.push({ key: o.key, bytes: r.bytes, sha256: o.hash.digest('hex'), versionId: r.versionId, etag: r.etag });
    if (r.bytes !== o.bytes) throw new IntegrityError(`segment ${o.key}: ${o.bytes} bytes sent, ${r.bytes} stored`);
  };
  try {
    // Leaving the loop early (a put failed) must not destroy the body: whoever owns it ends it with the real cause
    // (a destroyed gate would surface as a bare AbortError in the producer's pipeline and could be taken for it).
    for await (const chunk of body.iterator({ destroyOnReturn: false })) {
      let buf = chunk as Buffer;
      while (buf.length) {
        open ??= start();
        const piece = buf.subarray(0, limit - open.bytes);
        buf = buf.subarray(piece.length);
        open.hash.update(piece);
        open.bytes += piece.length;
        if (!open.pass.write(piece)) await Promise.race([once(open.pass, 'drain'), open.put]);
        if (open.bytes >= limit) {
          const full = open;
          open = undefined;
          await finish(full);
        }
      }
    }
    if (!open && !done.length) open = start(); // an empty body is one empty object
    if (open) {
      const last = open;
      open = undefined;
      await finish(last);
    }
  } catch (err) {
    throw await abandon(store, open, done, err);
  }
  const first = results[0] as PutResult;
  if (done.length === 1) return first;
  return { ...first, bytes: done.reduce((n, s) => n + s.bytes, 0), segments: done };
}

function tooManySegments(key: string, limit: number): ConfigError {
  return new ConfigError(
    `${key} needs more than ${MAX_SEGMENTS} segments of ${Math.round(limit / 2 ** 20)} MiB: its manifest could not list them all`,
    [],
    { hint: 'raise storage.segmentMiB (or remove it where the server has no object size limit)' },
  );
}

/** After a failure: the open segment's put is ended with the error, the completed ones are removed. */
async function abandon(
  store: ObjectStore,
  open: Open | undefined,
  done: StoredSegment[],
  err: unknown,
): Promise<Error> {
  if (open) {
    open.pass.destroy(err instanceof Error ? err : new Error(String(err)));
    await open.put.catch(() => undefined);
  }
  return removeSegments(store, done, err);
}

/**
 * Removes stored objects (by version) after the backup they belong to failed; returns `failure` with a note per
 * object: removed, or left (then it has no manifest and is not a backup).
 */
export async function removeSegments(
  store: ObjectStore,
  objects: { key: string; versionId?: string | undefined }[],
  failure: unknown,
  warn?: (message: string) => void,
): Promise<Error> {
  let out = failure instanceof Error ? failure : new Error(String(failure));
  for (const o of objects) {
    const where = `${store.description}/${o.key}${o.versionId ? ` (version ${o.versionId})` : ''}`;
    try {
      await store.delete(o.key, o.versionId);
      out = withNote(out, `${where} had been stored completely and was removed: the backup did not complete`);
    } catch (err) {
      warn?.(`could not remove ${where} after the failure: ${(err as Error).message}`);
      const lock = (await store.head(o.key).catch(() => undefined))?.lock;
      out = withNote(
        out,
        lock && lock.until.getTime() > Date.now()
          ? `${where} was stored completely and is locked ${lock.mode} until ${lock.until.toISOString()} (Object Lock), so it could not be removed (${(err as Error).message}); it has no manifest, so it is not a backup: list shows it as an orphan, and prune removes it once the lock has expired`
          : `${where} was stored completely and could not be removed (${(err as Error).message}); it has no manifest, so it is not a backup: remove it`,
      );
    }
  }
  return out;
}

/**
 * Reads an artifact's segments one after the other as one stream; a segment whose size or sha256 differs from the
 * manifest's fails the stream with an IntegrityError naming it (a missing one with the store's NotFoundError).
 */
export function readSegments(
  store: ObjectStore,
  segments: StoredSegment[],
  signal?: AbortSignal | undefined,
): Readable {
  async function* chunks(): AsyncGenerator<Buffer> {
    for (const s of segments) {
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of await store.get(s.key, { signal })) {
        const b = chunk as Buffer;
        hash.update(b);
        bytes += b.length;
        if (bytes > s.bytes) break;
        yield b;
      }
      const sha = hash.digest('hex');
      if (bytes !== s.bytes || sha !== s.sha256)
        throw new IntegrityError(
          `segment ${s.key} does not match its manifest: ${bytes !== s.bytes ? `${bytes}${bytes > s.bytes ? '+' : ''} bytes, manifest says ${s.bytes}` : `sha256 ${sha}, manifest says ${s.sha256}`}`,
          { hint: 'the segment is corrupt or was replaced; choose another backup (igbackup list)' },
        );
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}
