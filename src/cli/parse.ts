// Flag value parsers that turn bad input into clear usage errors.

import { InvalidArgumentError } from 'commander';
import { COMPRESSIONS, isCompression, type Compression } from '../domain/compression.js';

export function parseCompression(value: string): Compression {
  if (!isCompression(value)) throw new InvalidArgumentError(`use one of: ${COMPRESSIONS.join(', ')}`);
  return value;
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number >= 1');
  return n;
}

export function parseNonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number >= 0');
  return n;
}
