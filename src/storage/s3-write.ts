// The write side of the S3 store: every write carries a write id; a write that fails or is cancelled at any point —
// even while its multipart upload is completing — ends with nothing of it left at the key, and says what it removed.

import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { setTimeout as sleep } from 'node:timers/promises';
import { withNote } from '../domain/notes.js';

/** User metadata naming the write that stored an object (x-amz-meta-igbackup-write). */
export const WRITE_ID_META = 'igbackup-write';
/** A completion cut off client-side may still finish on the server: look again after this long. */
const COMPLETION_SETTLE_MS = 1000;

export interface WriteState {
  /** Set once a request that can make the object appear (Complete, PutObject) has been sent. */
  completing: boolean;
  /** Set once a CreateMultipartUpload was sent: the server may have made an upload whose id never reached us. */
  creating?: boolean | undefined;
  uploadId?: string | undefined;
}

/**
 * The client as lib-storage's Upload sees it: every request but AbortMultipartUpload is tied to `signal`, so a
 * cancel stops part uploads and a pending Complete at once, while the abort of the upload still goes out.
 */
export function writeClient(client: S3Client, signal: AbortSignal, state: WriteState): S3Client {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== 'send') return Reflect.get(target, prop, receiver) as unknown;
      return (command: Parameters<S3Client['send']>[0], options?: { abortSignal?: AbortSignal }) => {
        if (command instanceof AbortMultipartUploadCommand) return target.send(command, options);
        if (command instanceof CompleteMultipartUploadCommand || command instanceof PutObjectCommand)
          state.completing = true;
        if (command instanceof CreateMultipartUploadCommand) state.creating = true;
        return target.send(command, { ...options, abortSignal: signal });
      };
    },
  });
}

export interface SweepTarget {
  client: S3Client;
  bucket: string;
  key: string;
  writeId: string;
  state: WriteState;
}

/**
 * After a failed or cancelled write: aborts its multipart upload, removes an object that carries its write id (the
 * version it created; an object of another write is left alone), checks again, and returns `cause` with a note that
 * says what was removed or left.
 */
export async function sweepWrite(t: SweepTarget, cause: unknown): Promise<Error> {
  const where = `s3://${t.bucket}/${t.key}`;
  const notes: string[] = [];
  const aborted = await abortUpload(t);
  if (aborted) notes.push(aborted);
  const strays = await abortStrayUploads(t);
  if (strays) notes.push(strays);
  const look = (): Promise<Own | undefined | Error> => ownVersion(t).catch((err: Error) => err);
  let found = await look();
  if (found === undefined && t.state.completing) {
    await sleep(COMPLETION_SETTLE_MS);
    found = await look();
  }
  let removed: string | undefined;
  for (let tries = 0; found && !(found instanceof Error) && tries < 3; tries++) {
    const version = found.versionId ?? 'null';
    try {
      await t.client.send(new DeleteObjectCommand({ Bucket: t.bucket, Key: t.key, VersionId: found.versionId }));
    } catch (err) {
      notes.push(
        found.lockedUntil
          ? `${where} (version ${version}) was stored by this write and is locked ${found.lockMode ?? ''} until ${found.lockedUntil.toISOString()} (Object Lock), so it could not be removed (${(err as Error).message}); it has no manifest, so it is not a backup: list shows it as an orphan, and prune removes it once the lock has expired`
          : `${where} (version ${version}) was stored by this write and could not be removed (${(err as Error).message}); it is not a complete backup: remove it`,
      );
      return withNote(cause, notes.join('; '));
    }
    removed = version;
    found = await look();
  }
  if (found instanceof Error)
    notes.push(`${where} could not be checked (${found.message}); an object there is not a complete backup`);
  else if (found)
    notes.push(`${where} (version ${found.versionId ?? 'null'}) is still there after removing it three times`);
  else if (removed)
    notes.push(
      `the object ${where} (version ${removed}) that this write had completed was removed; the write left nothing behind`,
    );
  else notes.push(`the write to ${where} left nothing behind`);
  return withNote(cause, notes.join('; '));
}

async function abortUpload(t: SweepTarget): Promise<string | undefined> {
  if (!t.state.uploadId) return undefined;
  try {
    await t.client.send(new AbortMultipartUploadCommand({ Bucket: t.bucket, Key: t.key, UploadId: t.state.uploadId }));
  } catch (err) {
    if ((err as { name?: string }).name === 'NoSuchUpload') return undefined;
    return `its multipart upload ${t.state.uploadId} could not be aborted (${(err as Error).message}); the bucket's AbortIncompleteMultipartUpload rule removes it`;
  }
  return undefined;
}

/**
 * A CreateMultipartUpload cut off client-side (a cancel) may still be done by the server, leaving an upload whose id
 * never reached lib-storage. Every key is unique to one backup run, so any upload still open at it is this write's.
 */
async function abortStrayUploads(t: SweepTarget): Promise<string | undefined> {
  if (!t.state.creating) return undefined;
  if (!t.state.uploadId) await sleep(COMPLETION_SETTLE_MS);
  try {
    const open = await t.client.send(new ListMultipartUploadsCommand({ Bucket: t.bucket, Prefix: t.key }));
    for (const u of open.Uploads ?? []) {
      if (u.Key !== t.key || !u.UploadId) continue;
      await t.client.send(new AbortMultipartUploadCommand({ Bucket: t.bucket, Key: t.key, UploadId: u.UploadId }));
    }
  } catch (err) {
    return `open multipart uploads at s3://${t.bucket}/${t.key} could not be checked (${(err as Error).message}); the bucket's AbortIncompleteMultipartUpload rule removes them`;
  }
  return undefined;
}

interface Own {
  /** undefined on unversioned buckets. */
  versionId?: string | undefined;
  /** Object Lock: the version cannot be removed before this date. */
  lockedUntil?: Date | undefined;
  lockMode?: string | undefined;
}

/** The object at the key if this write stored it, else undefined. */
async function ownVersion(t: SweepTarget): Promise<Own | undefined> {
  try {
    const h = await t.client.send(new HeadObjectCommand({ Bucket: t.bucket, Key: t.key }));
    if (h.Metadata?.[WRITE_ID_META] !== t.writeId) return undefined;
    return { versionId: h.VersionId, lockedUntil: h.ObjectLockRetainUntilDate, lockMode: h.ObjectLockMode };
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return undefined;
    throw err;
  }
}
