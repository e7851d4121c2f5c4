// ObjectStore on S3 (and S3-compatible servers): streamed multipart uploads with SSE-KMS, verified by HeadObject;
// bounded waits (connect and idle timeouts); failed or cancelled writes leave nothing of theirs (s3-write.ts); paged
// listings in s3-list.ts.

import {
  S3Client,
  HeadObjectCommand,
  GetObjectCommand,
  DeleteObjectCommand,
  RestoreObjectCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { IgbackupError, IntegrityError, StorageError } from '../domain/errors.js';
import { uploadSizing } from '../domain/parts.js';
import type { S3StorageConfig } from '../config/schema.js';
import { ByteCounter } from './counting.js';
import { lockParams, lockRefused } from './s3-lock.js';
import { translateS3Error } from './s3-errors.js';
import { kmsKeyMatches, parseRestoreHeader, s3ClientConfig } from './s3-config.js';
import { objectPages, versionPages } from './s3-list.js';
import { sweepWrite, writeClient, WRITE_ID_META, type WriteState } from './s3-write.js';
import { reasonOf } from '../domain/notes.js';

export { kmsKeyMatches, parseRestoreHeader, s3ClientConfig };
import type { ObjectInfo, ObjectStore, PutOptions, PutResult } from './store.js';

export class S3Store implements ObjectStore {
  readonly description: string;
  readonly prefix: string;
  private readonly endpointText: string;

  constructor(
    private readonly cfg: S3StorageConfig,
    private readonly client: S3Client = new S3Client(s3ClientConfig(cfg)),
  ) {
    this.description = `s3://${cfg.bucket}`;
    this.prefix = cfg.prefix.replace(/^\/+|\/+$/g, '');
    this.endpointText = cfg.endpoint ?? `AWS S3 (${cfg.region})`;
  }

  private fail(err: unknown, op: string, key: string): Error {
    return translateS3Error(err, op, `s3://${this.cfg.bucket}/${key}`, this.endpointText, this.cfg.kmsKeyId);
  }

  /** Runs one write (streamed or small) with a write id; on any failure or cancel, sweeps the key (s3-write.ts). */
  private async write(
    key: string,
    signal: AbortSignal | undefined,
    run: (client: S3Client, meta: Record<string, string>, state: WriteState) => Promise<number>,
  ): Promise<PutResult> {
    const writeId = randomBytes(12).toString('hex');
    const state: WriteState = { completing: false };
    const requests = new AbortController();
    const onAbort = (): void => requests.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const bytes = await run(writeClient(this.client, requests.signal, state), { [WRITE_ID_META]: writeId }, state);
      if (signal?.aborted) throw signal.reason; // completed just as the cancel arrived: it must not stay
      return await this.confirm(key, bytes);
    } catch (err) {
      // A cancellation is the real cause; otherwise a source error, or the store's own failure, named.
      const cause = signal?.aborted
        ? reasonOf(signal)
        : err instanceof IgbackupError
          ? err
          : (lockRefused(this.cfg, err, key) ?? this.fail(err, 'write', key));
      throw await sweepWrite({ client: this.client, bucket: this.cfg.bucket, key, writeId, state }, cause);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async put(key: string, body: Readable, options: PutOptions = {}): Promise<PutResult> {
    const counter = new ByteCounter();
    // An error of the body propagates into counter, which makes Upload abort the multipart upload. Not the other way:
    // when Upload gives up (a part failed) it destroys counter, and that must not break the caller's stream with a
    // bare AbortError before this put rejects with the real cause.
    body.once('error', (err) => counter.destroy(err));
    body.pipe(counter);
    const stop = (): void => void counter.destroy(new StorageError('upload aborted'));
    options.signal?.addEventListener('abort', stop, { once: true });
    try {
      return await this.write(key, options.signal, async (client, meta, state) => {
        const upload = new Upload({
          client,
          params: {
            Bucket: this.cfg.bucket,
            Key: key,
            Body: counter,
            ServerSideEncryption: 'aws:kms',
            SSEKMSKeyId: this.cfg.kmsKeyId,
            Metadata: meta,
            ...lockParams(this.cfg, options.retention),
          },
          queueSize: this.cfg.queueSize,
          partSize: uploadSizing(this.cfg, options.sizeEstimate).partSize,
          leavePartsOnError: false,
        });
        try {
          await upload.done();
        } finally {
          state.uploadId = upload.uploadId;
        }
        return counter.bytes;
      });
    } catch (err) {
      counter.destroy();
      throw err;
    } finally {
      options.signal?.removeEventListener('abort', stop);
    }
  }

  /** No unfinished ones: an incomplete multipart upload is not an object (the bucket's lifecycle rule aborts it). */
  async listWithUnfinished(prefix: string): Promise<{ objects: ObjectInfo[]; unfinished: ObjectInfo[] }> {
    return { objects: await this.list(prefix), unfinished: [] };
  }

  maxPutBytes(sizeEstimate?: number): number | undefined {
    return uploadSizing(this.cfg, sizeEstimate).maxPutBytes;
  }

  /** Reads the object back and checks its size and encryption (the caller's sweep removes it when they disagree). */
  private async confirm(key: string, bytes: number): Promise<PutResult> {
    const info = await this.head(key);
    if (!info) throw new StorageError(`upload of ${key} reported success but HeadObject finds no object`);
    const problems: string[] = [];
    if (info.bytes !== bytes) problems.push(`size ${info.bytes} != ${bytes} bytes sent`);
    if (info.sse !== 'aws:kms') problems.push(`server-side encryption is "${info.sse ?? 'none'}", not aws:kms`);
    if (!kmsKeyMatches(info.kmsKeyId, this.cfg.kmsKeyId)) {
      problems.push(`KMS key is "${info.kmsKeyId ?? 'none'}", not ${this.cfg.kmsKeyId}`);
    }
    const lock = this.cfg.immutability;
    if (lock && (info.lock?.mode !== lock.mode || info.lock.until.getTime() <= Date.now()))
      problems.push(
        `it is not locked ${lock.mode} (Object Lock ${info.lock ? `${info.lock.mode} until ${info.lock.until.toISOString()}` : 'missing'}): the bucket must have Object Lock enabled (igbackup storage init --env creates one)`,
      );
    if (problems.length) throw new IntegrityError(`stored object ${key} failed verification: ${problems.join('; ')}`);
    return { key, bytes, versionId: info.versionId, etag: info.etag, sse: 'aws:kms', kmsKeyId: info.kmsKeyId };
  }

  async putBytes(key: string, data: Buffer | string, options: PutOptions = {}): Promise<PutResult> {
    const buf = Buffer.from(data);
    return this.write(key, options.signal, async (client, meta) => {
      await client.send(
        new PutObjectCommand({
          Bucket: this.cfg.bucket,
          Key: key,
          Body: buf,
          ContentLength: buf.length,
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: this.cfg.kmsKeyId,
          Metadata: meta,
          ...lockParams(this.cfg, options.retention),
        }),
      );
      return buf.length;
    });
  }

  async get(key: string, options: { signal?: AbortSignal | undefined } = {}): Promise<Readable> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.cfg.bucket, Key: key }), {
        abortSignal: options.signal,
      });
      if (!(out.Body instanceof Readable)) throw new StorageError(`GetObject ${key} returned no stream`);
      return this.named(out.Body, key);
    } catch (err) {
      throw this.fail(err, 'read', key);
    }
  }

  /** The body, with a failure mid-stream (a stalled or dropped download) named like any other S3 error. */
  private named(body: Readable, key: string): Readable {
    const out = new PassThrough({ highWaterMark: 1024 * 1024 });
    body.once('error', (err) => out.destroy(this.fail(err, 'read', key)));
    out.once('close', () => body.destroy()); // a reader that gives up releases the connection
    body.pipe(out);
    return out;
  }

  async getBytes(key: string): Promise<Buffer> {
    const stream = await this.get(key);
    const chunks: Buffer[] = [];
    try {
      for await (const c of stream) chunks.push(c as Buffer);
    } catch (err) {
      throw this.fail(err, 'read', key);
    }
    return Buffer.concat(chunks);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: this.cfg.bucket, Key: key }));
      return {
        key,
        bytes: h.ContentLength ?? 0,
        lastModified: h.LastModified ?? new Date(0),
        storageClass: h.StorageClass ?? 'STANDARD',
        sse: h.ServerSideEncryption,
        kmsKeyId: h.SSEKMSKeyId,
        versionId: h.VersionId,
        etag: h.ETag,
        restore: parseRestoreHeader(h.Restore),
        ...(h.ObjectLockMode && h.ObjectLockRetainUntilDate
          ? { lock: { mode: h.ObjectLockMode, until: new Date(h.ObjectLockRetainUntilDate) } }
          : {}),
      };
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return undefined;
      throw this.fail(err, 'inspect', key);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    for await (const page of objectPages(this.client, this.cfg.bucket, prefix, (err) => this.fail(err, 'list', prefix)))
      out.push(...page);
    return out;
  }

  async requestRestore(
    key: string,
    days: number,
    tier: 'Expedited' | 'Standard' | 'Bulk',
  ): Promise<'requested' | 'already'> {
    try {
      await this.client.send(
        new RestoreObjectCommand({
          Bucket: this.cfg.bucket,
          Key: key,
          RestoreRequest: { Days: days, GlacierJobParameters: { Tier: tier } },
        }),
      );
      return 'requested';
    } catch (err) {
      if ((err as { name?: string }).name === 'RestoreAlreadyInProgress') return 'already';
      throw this.fail(err, 'request a restore of', key);
    }
  }

  async purge(key: string): Promise<number> {
    let removed = 0;
    const fail = (err: unknown): Error => this.fail(err, 'list versions of', key);
    for await (const versionIds of versionPages(this.client, this.cfg.bucket, key, fail)) {
      for (const versionId of versionIds) {
        await this.delete(key, versionId);
        removed++;
      }
    }
    return removed;
  }

  async release(key: string): Promise<void> {
    if (this.cfg.immutability) await this.delete(key);
    else await this.purge(key);
  }

  async delete(key: string, versionId?: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.cfg.bucket, Key: key, VersionId: versionId }));
    } catch (err) {
      throw this.fail(err, 'delete', key);
    }
  }
}
