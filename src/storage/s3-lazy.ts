// The S3 store, loaded on first use: the AWS SDK is a third of the CLI's start-up time, and many runs (a physical
// restore, a dry run, --help, a config error) never touch the bucket. Same contract as S3Store, which it forwards to.

import type { Readable } from 'node:stream';
import type { S3StorageConfig } from '../config/schema.js';
import { uploadSizing } from '../domain/parts.js';
import type { S3Store } from './s3.js';
import type { ObjectInfo, ObjectStore, PutOptions, PutResult } from './store.js';

export class LazyS3Store implements ObjectStore {
  readonly description: string;
  readonly prefix: string;
  private inner: Promise<S3Store> | undefined;

  constructor(private readonly cfg: S3StorageConfig) {
    this.description = `s3://${cfg.bucket}`;
    this.prefix = cfg.prefix.replace(/^\/+|\/+$/g, '');
  }

  private store(): Promise<S3Store> {
    this.inner ??= import('./s3.js').then((m) => new m.S3Store(this.cfg));
    return this.inner;
  }

  async put(key: string, body: Readable, options?: PutOptions): Promise<PutResult> {
    return (await this.store()).put(key, body, options);
  }

  async listWithUnfinished(prefix: string): Promise<{ objects: ObjectInfo[]; unfinished: ObjectInfo[] }> {
    return (await this.store()).listWithUnfinished(prefix);
  }

  maxPutBytes(sizeEstimate?: number): number | undefined {
    return uploadSizing(this.cfg, sizeEstimate).maxPutBytes;
  }

  async putBytes(key: string, data: Buffer | string, options?: PutOptions): Promise<PutResult> {
    return (await this.store()).putBytes(key, data, options);
  }

  async get(key: string, options?: { signal?: AbortSignal | undefined }): Promise<Readable> {
    return (await this.store()).get(key, options);
  }

  async getBytes(key: string): Promise<Buffer> {
    return (await this.store()).getBytes(key);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    return (await this.store()).head(key);
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    return (await this.store()).list(prefix);
  }

  async delete(key: string, versionId?: string): Promise<void> {
    return (await this.store()).delete(key, versionId);
  }

  async purge(key: string): Promise<number> {
    return (await this.store()).purge(key);
  }

  async release(key: string): Promise<void> {
    return (await this.store()).release(key);
  }

  async requestRestore(
    key: string,
    days: number,
    tier: 'Expedited' | 'Standard' | 'Bulk',
  ): Promise<'requested' | 'already'> {
    return (await this.store()).requestRestore(key, days, tier);
  }
}
