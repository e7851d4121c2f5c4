// Builds the ObjectStore for an env's storage config.

import { resolve } from 'node:path';
import type { StorageConfig } from '../config/schema.js';
import { FileStore } from './file.js';
import { LazyS3Store } from './s3-lazy.js';
import type { ObjectStore } from './store.js';

export function openStore(cfg: StorageConfig, baseDir: string): ObjectStore {
  if (cfg.type === 'file')
    return new FileStore(
      resolve(baseDir, cfg.path),
      cfg.prefix.replace(/^\/+|\/+$/g, ''),
      cfg.segmentMiB === undefined ? undefined : cfg.segmentMiB * 1024 * 1024,
    );
  return new LazyS3Store({ ...cfg, ...(cfg.caFile ? { caFile: resolve(baseDir, cfg.caFile) } : {}) });
}
