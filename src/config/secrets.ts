// Resolves secret references (env var name or file) into values, at the moment a command needs them.

import { readFile } from 'node:fs/promises';
import { ConfigError } from '../domain/errors.js';
import type { SecretRef } from './schema.js';

export async function resolveSecret(ref: SecretRef, environ: NodeJS.ProcessEnv, what: string): Promise<string> {
  if (ref.env !== undefined) {
    const value = environ[ref.env];
    if (value === undefined || value === '') {
      throw new ConfigError(`${what}: environment variable ${ref.env} is not set`, [], {
        hint: `export ${ref.env}=... before running igbackup (or point the config at a file with "file:")`,
      });
    }
    return value;
  }
  const file = ref.file as string;
  try {
    return (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
  } catch (err) {
    throw new ConfigError(`${what}: cannot read secret file ${file}: ${(err as Error).message}`, [], {
      cause: err,
      hint: 'create the file (mode 600) or fix the path in the config',
    });
  }
}
