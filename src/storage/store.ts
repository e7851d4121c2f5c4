// The ObjectStore interface every storage backend implements; its doc comments are the contract the shared suite tests.

import type { Readable } from 'node:stream';

export interface PutOptions {
  /** Best guess of the final size in bytes, used to size multipart parts; undefined = unknown. */
  sizeEstimate?: number | undefined;
  /** Aborting stops the write at whatever stage it is (even while a multipart upload completes); nothing of it is
   * left at the key, and the rejection is the signal's reason. */
  signal?: AbortSignal | undefined;
  /**
   * Where the store locks what it writes (S3 Object Lock): `backup` (default: artifacts, manifests, reports) carries
   * the env's full retention; `control` (lock leases, storage probes) a short one, since those are replaced and
   * released all the time.
   */
  retention?: 'backup' | 'control' | undefined;
}

/** An object version's write-once lock (S3 Object Lock): nobody (COMPLIANCE) may remove it before `until`. */
export interface ObjectLockInfo {
  mode: string;
  until: Date;
}

export interface PutResult {
  key: string;
  /** Bytes the store consumed from the body and confirmed are stored (after a read-back of the object's size). */
  bytes: number;
  versionId?: string | undefined;
  /** The store's ETag of what was written (S3), to tell later whether the object was replaced. */
  etag?: string | undefined;
  /** Server-side encryption as reported by the store after the write, e.g. "aws:kms"; "none" for the file store. */
  sse: string;
  kmsKeyId?: string | undefined;
}

export interface ObjectInfo {
  key: string;
  bytes: number;
  lastModified: Date;
  storageClass?: string | undefined;
  sse?: string | undefined;
  kmsKeyId?: string | undefined;
  versionId?: string | undefined;
  /** Changes whenever the object's content changes (S3 ETag); undefined where the store has none. */
  etag?: string | undefined;
  /** For archived objects (GLACIER, DEEP_ARCHIVE): whether a restore runs, and until when a restored copy stays. */
  restore?: { ongoing: boolean; expiry?: string | undefined } | undefined;
  /** The version's Object Lock retention (from HeadObject; listings do not carry it). */
  lock?: ObjectLockInfo | undefined;
}

export interface ObjectStore {
  /** Human-readable location, e.g. "s3://bucket" or "file:///var/backups". Never contains credentials. */
  readonly description: string;
  /** Key prefix configured for this store ("" or "a/b", no trailing slash). */
  readonly prefix: string;

  /**
   * Streams `body` to `key`. Resolves only when the body ended cleanly, the object is stored completely and a
   * read-back (HEAD / stat) confirms its size (and, for S3, its encryption). If the body errors, the signal
   * aborts, a request fails or the read-back disagrees, it rejects and leaves nothing of this write at `key`
   * (multipart uploads are aborted, partial files removed, and an object the write completed anyway — a cancel
   * while completing — is removed by its version); the rejection's message ends with a note saying what was
   * removed, or what could not be (notesOf). Every wait is bounded (S3: connect and idle timeouts).
   * An existing object at `key` is replaced only on success.
   */
  put(key: string, body: Readable, options?: PutOptions): Promise<PutResult>;

  /**
   * The most one put of an artifact of about `sizeEstimate` bytes (undefined: unknown) may carry as one object:
   * S3's 10,000 parts of the part size this store would choose (capped by its memory budget), or the configured
   * segment size; undefined when there is no limit. A writer stores a larger artifact in segments of at most this.
   */
  maxPutBytes(sizeEstimate?: number): number | undefined;

  /** Stores a small buffer (manifests, reports) with the same encryption, read-back and failure guarantees as put. */
  putBytes(key: string, data: Buffer | string, options?: PutOptions): Promise<PutResult>;

  /** Opens the object for reading. Rejects with NotFoundError when there is no object at `key`. */
  get(key: string, options?: { signal?: AbortSignal | undefined }): Promise<Readable>;

  /** Reads a small object fully. Rejects with NotFoundError when missing. */
  getBytes(key: string): Promise<Buffer>;

  /** Metadata of the object at `key`, or undefined when there is none. */
  head(key: string): Promise<ObjectInfo | undefined>;

  /** Every object whose key starts with `prefix`, in key order. Incomplete uploads are never listed. */
  list(prefix: string): Promise<ObjectInfo[]>;

  /**
   * One listing of `prefix` with, besides the complete objects (as `list`), what writes that never finished left and
   * no cleanup removed (a process killed mid-write): the file store's partial files, each deletable by its key. Never a
   * complete object; a failed or cancelled write leaves nothing there. S3 has none: an incomplete multipart upload is
   * not an object, and the bucket's lifecycle rule aborts it.
   */
  listWithUnfinished(prefix: string): Promise<{ objects: ObjectInfo[]; unfinished: ObjectInfo[] }>;

  /** Removes the object (or one version of it). Removing a missing object is not an error. Idempotent. */
  delete(key: string, versionId?: string): Promise<void>;

  /**
   * Removes every version of the object, delete markers included, so nothing of it remains (versioned buckets);
   * on unversioned stores the same as delete. Returns how many versions were removed.
   */
  purge(key: string): Promise<number>;

  /**
   * Makes a control object (a lock lease, a storage probe) read as absent: purged where versions may be removed; where
   * versions are write-once (Object Lock), a delete marker only, which needs no right to remove a version (the locked
   * versions expire with the lifecycle's noncurrent-version rule once their short retention ends).
   */
  release(key: string): Promise<void>;

  /** Asks the store to make an archived object readable for `days` (S3 RestoreObject); 'already' if one runs. */
  requestRestore(key: string, days: number, tier: 'Expedited' | 'Standard' | 'Bulk'): Promise<'requested' | 'already'>;
}
