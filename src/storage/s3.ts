// ObjectStore on S3 (and S3-compatible servers): streamed multipart uploads with SSE-KMS, verified by HeadObject.

import {
  S3Client,
  HeadObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  DeleteObjectCommand,
  ListObjectVersionsCommand,
  RestoreObjectCommand,
  PutObjectCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { IntegrityError, StorageError } from '../domain/errors.js';
import { choosePartSize, MiB } from '../domain/parts.js';
import type { S3StorageConfig } from '../config/schema.js';
import { ByteCounter } from './counting.js';
import { translateS3Error } from './s3-errors.js';
import type { ObjectInfo, ObjectStore, PutOptions, PutResult } from './store.js';

const ABORT_FALLBACK_MS = 30_000;

export function s3ClientConfig(cfg: S3StorageConfig): S3ClientConfig {
  const checksums = cfg.checksums === 'auto' ? (cfg.endpoint ? 'when_required' : 'when_supported') : cfg.checksums;
  const mode = checksums === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
  return {
    region: cfg.region,
    ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
    forcePathStyle: cfg.forcePathStyle ?? Boolean(cfg.endpoint),
    ...(cfg.profile ? { profile: cfg.profile } : {}),
    requestChecksumCalculation: mode,
    responseChecksumValidation: mode,
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 10_000, requestTimeout: 300_000 }),
  };
}

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

  async put(key: string, body: Readable, options: PutOptions = {}): Promise<PutResult> {
    const counter = new ByteCounter();
    // Errors on body propagate into counter, which makes Upload abort the multipart upload.
    pipeline(body, counter, () => undefined);
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.cfg.bucket,
        Key: key,
        Body: counter,
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: this.cfg.kmsKeyId,
      },
      queueSize: this.cfg.queueSize,
      partSize: choosePartSize(options.sizeEstimate, this.cfg.minPartSizeMiB * MiB),
      leavePartsOnError: false,
    });
    // Abort through the body: lib-storage then sends AbortMultipartUpload before done() rejects. Upload.abort()
    // would make done() reject at once while the AbortMultipartUpload is still pending, so it is only the fallback
    // for a part upload that hangs (the bucket's AbortIncompleteMultipartUpload rule cleans up after that).
    let fallback: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      counter.destroy(new StorageError('upload aborted'));
      fallback = setTimeout(() => void upload.abort().catch(() => undefined), ABORT_FALLBACK_MS);
      fallback.unref();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await upload.done();
    } catch (err) {
      counter.destroy();
      // A source error is the real cause; report it rather than the SDK's wrapper.
      throw options.signal?.aborted && options.signal.reason ? options.signal.reason : this.fail(err, 'upload to', key);
    } finally {
      clearTimeout(fallback);
      options.signal?.removeEventListener('abort', onAbort);
    }
    return this.confirm(key, counter.bytes);
  }

  /** Reads the object back and checks its size and encryption; removes it when they disagree. */
  private async confirm(key: string, bytes: number): Promise<PutResult> {
    const info = await this.head(key);
    if (!info) throw new StorageError(`upload of ${key} reported success but HeadObject finds no object`);
    const problems: string[] = [];
    if (info.bytes !== bytes) problems.push(`size ${info.bytes} != ${bytes} bytes sent`);
    if (info.sse !== 'aws:kms') problems.push(`server-side encryption is "${info.sse ?? 'none'}", not aws:kms`);
    if (!kmsKeyMatches(info.kmsKeyId, this.cfg.kmsKeyId)) {
      problems.push(`KMS key is "${info.kmsKeyId ?? 'none'}", not ${this.cfg.kmsKeyId}`);
    }
    if (problems.length) {
      await this.delete(key, info.versionId).catch(() => undefined);
      throw new IntegrityError(`stored object ${key} failed verification: ${problems.join('; ')} (object removed)`);
    }
    return { key, bytes, versionId: info.versionId, sse: 'aws:kms', kmsKeyId: info.kmsKeyId };
  }

  async putBytes(key: string, data: Buffer | string): Promise<PutResult> {
    const buf = Buffer.from(data);
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.cfg.bucket,
          Key: key,
          Body: buf,
          ContentLength: buf.length,
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: this.cfg.kmsKeyId,
        }),
      );
    } catch (err) {
      throw this.fail(err, 'write', key);
    }
    return this.confirm(key, buf.length);
  }

  async get(key: string, options: { signal?: AbortSignal | undefined } = {}): Promise<Readable> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.cfg.bucket, Key: key }), {
        abortSignal: options.signal,
      });
      if (!(out.Body instanceof Readable)) throw new StorageError(`GetObject ${key} returned no stream`);
      return out.Body;
    } catch (err) {
      throw this.fail(err, 'read', key);
    }
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
        restore: parseRestoreHeader(h.Restore),
      };
    } catch (err) {
      const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return undefined;
      throw this.fail(err, 'inspect', key);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.cfg.bucket, Prefix: prefix, ContinuationToken: token }),
        );
      } catch (err) {
        throw this.fail(err, 'list', prefix);
      }
      for (const o of page.Contents ?? []) {
        if (!o.Key) continue;
        out.push({
          key: o.Key,
          bytes: o.Size ?? 0,
          lastModified: o.LastModified ?? new Date(0),
          storageClass: o.StorageClass ?? 'STANDARD',
          etag: o.ETag,
        });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async requestRestore(key: string, days: number, tier: 'Expedited' | 'Standard' | 'Bulk'): Promise<'requested' | 'already'> {
    try {
      await this.client.send(new RestoreObjectCommand({ Bucket: this.cfg.bucket, Key: key, RestoreRequest: { Days: days, GlacierJobParameters: { Tier: tier } } }));
      return 'requested';
    } catch (err) {
      if ((err as { name?: string }).name === 'RestoreAlreadyInProgress') return 'already';
      throw this.fail(err, 'request a restore of', key);
    }
  }

  async purge(key: string): Promise<number> {
    let removed = 0;
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new ListObjectVersionsCommand({ Bucket: this.cfg.bucket, Prefix: key, KeyMarker: keyMarker, VersionIdMarker: versionMarker }));
      } catch (err) {
        throw this.fail(err, 'list versions of', key);
      }
      const all = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].filter((v) => v.Key === key);
      for (const v of all) {
        await this.delete(key, v.VersionId ?? undefined);
        removed++;
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      versionMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
    } while (keyMarker);
    return removed;
  }

  async delete(key: string, versionId?: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.cfg.bucket, Key: key, VersionId: versionId }));
    } catch (err) {
      throw this.fail(err, 'delete', key);
    }
  }
}

/** S3 may report the key id as given, or as a full ARN of it. */
export function kmsKeyMatches(reported: string | undefined, configured: string): boolean {
  if (!reported) return false;
  if (reported === configured) return true;
  const tail = (s: string): string => s.replace(/^arn:[^:]*:kms:[^:]*:[^:]*:key\//, '');
  return tail(reported) === tail(configured) || reported.endsWith(`/${configured}`);
}

/** x-amz-restore: 'ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"' (pure). */
export function parseRestoreHeader(h: string | undefined): { ongoing: boolean; expiry?: string } | undefined {
  if (!h) return undefined;
  const ongoing = /ongoing-request="true"/.test(h);
  const expiry = /expiry-date="([^"]+)"/.exec(h)?.[1];
  return { ongoing, ...(expiry ? { expiry } : {}) };
}
