// Crafted stored state for catalog tests: raw access to the test S3 bucket or a file store's folder, bypassing
// igbackup, so tests can plant manifests that lie, remove artifacts, cut them short or age a real backup.

import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { s3, s3Client } from './servers.js';

export interface RawStore {
  kind: 's3' | 'file';
  put(key: string, body: string | Buffer): Promise<void>;
  get(key: string): Promise<Buffer>;
  copy(from: string, to: string): Promise<void>;
  remove(key: string): Promise<void>;
  keys(prefix: string): Promise<string[]>;
}

export function rawS3(bucket: string): RawStore {
  const c = s3Client();
  const sse = { ServerSideEncryption: 'aws:kms' as const, SSEKMSKeyId: s3.kmsKeyId };
  const put = async (Key: string, Body: string | Buffer): Promise<void> =>
    void (await c.send(new PutObjectCommand({ Bucket: bucket, Key, Body, ...sse })));
  const get = async (Key: string): Promise<Buffer> =>
    Buffer.from(await (await c.send(new GetObjectCommand({ Bucket: bucket, Key }))).Body!.transformToByteArray());
  return {
    kind: 's3',
    put,
    get,
    copy: async (from, to) => put(to, await get(from)), // radosgw 16 answers CopyObject with SSE-KMS NotImplemented
    remove: async (Key) => void (await c.send(new DeleteObjectCommand({ Bucket: bucket, Key }))),
    keys: async (Prefix) => {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const r = await c.send(new ListObjectsV2Command({ Bucket: bucket, Prefix, ContinuationToken: token }));
        out.push(...(r.Contents ?? []).map((o) => o.Key ?? ''));
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
      return out.sort();
    },
  };
}

export function rawFile(root: string): RawStore {
  const path = (key: string): string => join(root, ...key.split('/'));
  const walk = async (dir: string, out: string[]): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const full = join(dir, e.name);
      if (e.isDirectory()) await walk(full, out);
      else out.push(relative(root, full).split(sep).join('/'));
    }
  };
  return {
    kind: 'file',
    put: async (key, body) => {
      await mkdir(dirname(path(key)), { recursive: true });
      await writeFile(path(key), body);
    },
    get: (key) => readFile(path(key)),
    copy: async (from, to) => {
      await mkdir(dirname(path(to)), { recursive: true });
      await writeFile(path(to), await readFile(path(from)));
    },
    remove: (key) => rm(path(key), { force: true }),
    keys: async (prefix) => {
      const out: string[] = [];
      await walk(root, out);
      return out.filter((k) => k.startsWith(prefix)).sort();
    },
  };
}

interface RawManifest {
  startedAt: string;
  finishedAt: string;
  artifacts: { key: string; [k: string]: unknown }[];
  [k: string]: unknown;
}

export async function readManifest(store: RawStore, key: string): Promise<RawManifest> {
  return JSON.parse((await store.get(`${key}.manifest.json`)).toString('utf8')) as RawManifest;
}

/** UTC timestamp as used in keys: 20261124T110148.123Z. */
function keyTs(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '');
}

/**
 * Moves a real backup back in time consistently, as if it had been taken `daysAgo` days ago: its artifacts are
 * copied to keys with the older timestamp and its manifest rewritten (startedAt, finishedAt, keys). Returns the new key.
 */
export async function ageBackup(store: RawStore, key: string, daysAgo: number): Promise<string> {
  const m = await readManifest(store, key);
  const started = new Date(Date.parse(m.startedAt) - daysAgo * 86_400_000);
  const oldTs = keyTs(new Date(m.startedAt));
  const newTs = keyTs(started);
  const rename = (k: string): string => k.replace(`_${oldTs}`, `_${newTs}`);
  for (const a of m.artifacts) {
    await store.copy(a.key, rename(a.key));
    await store.remove(a.key);
    a.key = rename(a.key);
  }
  m.startedAt = started.toISOString();
  m.finishedAt = new Date(Date.parse(m.finishedAt) - daysAgo * 86_400_000).toISOString();
  await store.put(`${rename(key)}.manifest.json`, JSON.stringify(m, null, 2));
  await store.remove(`${key}.manifest.json`);
  return rename(key);
}
