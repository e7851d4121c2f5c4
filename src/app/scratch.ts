// Names for throwaway things (scratch databases, drill namespaces, helper pods, files set aside): the time for
// people, plus random bits so that two runs, even in the same second, never pick the same name.

import { randomBytes } from 'node:crypto';
import { keyTimestamp } from '../domain/keys.js';

/** "20261127071500-3fa9" (sep "-") or "20261127071500_3fa9": lowercase digits and hex only. */
export function scratchStamp(now: Date, sep: '-' | '_' = '-'): string {
  return `${keyTimestamp(now).replace(/\D/g, '').slice(0, 14)}${sep}${randomBytes(2).toString('hex')}`;
}
