// ObjectStore on a local directory (file://): writes to a partial file, fsyncs, then renames into place.

import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, readdir, realpath, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { NotFoundError, StorageError } from '../domain/errors.js';
import { reasonOf, withNote } from '../domain/notes.js';
import { ByteCounter } from './counting.js';
import type { ObjectInfo, ObjectStore, PutOptions, PutResult } from './store.js';

const PARTIAL_MARK = '.igbackup-partial-';

export class FileStore implements ObjectStore {
  readonly description: string;
  constructor(
    private readonly root: string,
    readonly prefix: string,
    /** Store artifacts larger than this in segments (storage.segmentMiB); a file has no size limit of its own. */
    private readonly segmentBytes?: number,
  ) {
    this.description = `file://${root}`;
  }

  maxPutBytes(_sizeEstimate?: number): number | undefined {
    return this.segmentBytes;
  }

  private pathOf(key: string): string {
    if (key.split('/').some((s) => s === '..' || s === '.' || s === '') || key.includes('\\')) {
      throw new StorageError(`invalid key "${key}" for the file store`);
    }
    return join(this.root, ...key.split('/'));
  }

  async put(key: string, body: Readable, options: PutOptions = {}): Promise<PutResult> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const partial = `${path}${PARTIAL_MARK}${randomBytes(6).toString('hex')}`;
    const counter = new ByteCounter();
    try {
      await pipeline(body, counter, createWriteStream(partial, { mode: 0o600 }), { signal: options.signal });
      await fsyncPath(partial);
      const st = await stat(partial);
      if (st.size !== counter.bytes) {
        throw new StorageError(`file store wrote ${st.size} bytes for ${key} but received ${counter.bytes}`);
      }
      if (options.signal?.aborted) throw reasonOf(options.signal); // the last moment a cancel can stop the write
      await rename(partial, path);
      return { key, bytes: st.size, sse: 'none' };
    } catch (err) {
      await unlink(partial).catch(() => undefined);
      const cause = options.signal?.aborted ? reasonOf(options.signal) : err;
      throw withNote(cause, `the write to ${this.description}/${key} left nothing behind`);
    }
  }

  async putBytes(key: string, data: Buffer | string, options: PutOptions = {}): Promise<PutResult> {
    return this.put(key, Readable.from([Buffer.from(data)]), options);
  }

  async get(key: string): Promise<Readable> {
    const path = this.pathOf(key);
    await this.statOrThrow(key, path);
    return createReadStream(path);
  }

  async getBytes(key: string): Promise<Buffer> {
    const path = this.pathOf(key);
    await this.statOrThrow(key, path);
    return readFile(path);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const st = await stat(this.pathOf(key));
      if (!st.isFile()) return undefined;
      return { key, bytes: st.size, lastModified: st.mtime, sse: 'none' };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new StorageError(`cannot stat ${key} in ${this.description}: ${(err as Error).message}`, { cause: err });
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    return (await this.listWithUnfinished(prefix)).objects;
  }

  /** Complete objects and the partial files of writes that never finished, in one walk. */
  async listWithUnfinished(prefix: string): Promise<{ objects: ObjectInfo[]; unfinished: ObjectInfo[] }> {
    const out = { objects: [] as ObjectInfo[], unfinished: [] as ObjectInfo[] };
    // Walk only the deepest directory that the prefix fully names.
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash >= 0 ? prefix.slice(0, slash) : '';
    const start = dirKey ? join(this.root, ...dirKey.split('/')) : this.root;
    await this.refuseSymlinkedFolder(start, dirKey);
    await this.walk(start, out);
    const inPrefix = (list: ObjectInfo[]) =>
      list.filter((o) => o.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { objects: inPrefix(out.objects), unfinished: inPrefix(out.unfinished) };
  }

  /**
   * A folder of a key reached through a symlink (an env folder linked to another env's, say) would let a listing,
   * and so prune, act on objects of another folder under this folder's names: refused.
   */
  private async refuseSymlinkedFolder(dir: string, dirKey: string): Promise<void> {
    if (!dirKey) return;
    const [real, rootReal] = await Promise.all([
      realpath(dir).catch(() => undefined),
      realpath(this.root).catch(() => this.root),
    ]);
    if (real === undefined || real === join(rootReal, ...dirKey.split('/'))) return;
    throw new StorageError(
      `${this.description}: folder ${dirKey} is reached through a symlink (to ${real}); igbackup does not follow it`,
      {
        hint: 'replace the symlink with a real folder, or point storage.path at the real location',
      },
    );
  }

  private async walk(dir: string, out: { objects: ObjectInfo[]; unfinished: ObjectInfo[] }): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new StorageError(`cannot list ${dir}: ${(err as Error).message}`, { cause: err });
    }
    for (const e of entries) {
      const full = join(dir, e.name);
      if (e.isDirectory()) await this.walk(full, out);
      else if (e.isFile()) {
        const st = await stat(full).catch(() => undefined);
        if (!st) continue;
        const key = relative(this.root, full).split(sep).join('/');
        (e.name.includes(PARTIAL_MARK) ? out.unfinished : out.objects).push({
          key,
          bytes: st.size,
          lastModified: st.mtime,
          sse: 'none',
        });
      }
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async requestRestore(key: string): Promise<'requested' | 'already'> {
    throw new StorageError(`${key}: a file store never archives objects; nothing to restore`);
  }

  async purge(key: string): Promise<number> {
    const existed = (await this.head(key)) !== undefined;
    await this.delete(key);
    return existed ? 1 : 0;
  }

  async release(key: string): Promise<void> {
    await this.delete(key);
  }

  private async statOrThrow(key: string, path: string): Promise<void> {
    try {
      await stat(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new NotFoundError(`no object at ${key} in ${this.description}`);
      }
      throw new StorageError(`cannot read ${key}: ${(err as Error).message}`, { cause: err });
    }
  }
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
