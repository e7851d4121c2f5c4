// What a bucket governance item is (audit, apply, optional rollback), and the audit/apply loops over a list of them.

import type { S3Client } from '@aws-sdk/client-s3';
import type { S3StorageConfig } from '../../config/schema.js';

export type ItemStatus = 'ok' | 'drift' | 'unsupported' | 'applied' | 'planned' | 'failed' | 'skipped';

export interface GovernanceItem {
  item: string;
  status: ItemStatus;
  detail: string;
}

export interface Item {
  name: string;
  /** Returns undefined when in the wanted state, else what differs. */
  audit(): Promise<string | undefined>;
  apply(): Promise<void>;
  /** Undoes apply() (restores what was there before); only some items can. */
  rollback?: () => Promise<void>;
  describe: string;
}

/** What every item is built from: the client, the env's storage section, the env's name. */
export interface ItemInput {
  client: S3Client;
  cfg: S3StorageConfig;
  env: string;
  Bucket: string;
}

const NOT_SUPPORTED =
  /NotImplemented|InvalidArgument|MethodNotAllowed|NotSupported|UnsupportedOperation|XNotImplemented/;

export function errCode(err: unknown): string {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return `${e.name ?? e.Code ?? 'Error'}${e.$metadata?.httpStatusCode ? ` (HTTP ${e.$metadata.httpStatusCode})` : ''}`;
}

/** Whether err is one of the S3 error names a missing setting answers with. */
export function isMissing(err: unknown, ...names: string[]): boolean {
  const e = err as { name?: string; Code?: string };
  return names.includes(e.name ?? '') || names.includes(e.Code ?? '');
}

/** An item whose API failed: "unsupported" when the server lacks it, else "failed" with the error. */
function failure(name: string, err: unknown, unsupportedNote: string): GovernanceItem {
  const code = errCode(err);
  return NOT_SUPPORTED.test(code)
    ? { item: name, status: 'unsupported', detail: `the server does not support this API (${code})${unsupportedNote}` }
    : { item: name, status: 'failed', detail: `${code}: ${(err as Error).message}` };
}

/** Audits every item; "unsupported" when the server lacks the API. */
export async function auditGovernance(items: Item[]): Promise<GovernanceItem[]> {
  const out: GovernanceItem[] = [];
  for (const it of items) {
    try {
      const drift = await it.audit();
      out.push({ item: it.name, status: drift ? 'drift' : 'ok', detail: drift ?? it.describe });
    } catch (err) {
      out.push(failure(it.name, err, ''));
      if (it.name === 'bucket') break;
    }
  }
  return out;
}

/** Applies what drifts (or only plans it); idempotent. */
export async function applyGovernance(
  items: Item[],
  dryRun: boolean,
  confirm?: (item: string) => Promise<string | undefined>,
): Promise<GovernanceItem[]> {
  const out: GovernanceItem[] = [];
  let noBucketYet = false;
  for (const it of items) {
    let drift: string | undefined;
    try {
      drift = noBucketYet ? 'after the bucket is created' : await it.audit();
    } catch (err) {
      drift = `cannot read the current setting (${errCode(err)})`;
    }
    if (it.name === 'bucket' && drift && dryRun) noBucketYet = true;
    if (!drift) {
      out.push({ item: it.name, status: 'ok', detail: it.describe });
      continue;
    }
    if (dryRun) {
      out.push({ item: it.name, status: 'planned', detail: `${drift} -> ${it.describe}` });
      continue;
    }
    try {
      await it.apply();
      // Some servers accept a setting that then locks igbackup out: prove it still works, else undo.
      const broken = confirm ? await confirm(it.name) : undefined;
      if (broken && it.rollback) {
        await it.rollback();
        out.push({ item: it.name, status: 'unsupported', detail: `applied, but then ${broken}; rolled back` });
        continue;
      }
      out.push({ item: it.name, status: 'applied', detail: it.describe });
    } catch (err) {
      out.push(failure(it.name, err, '; continuing'));
      if (it.name === 'bucket') break;
    }
  }
  return out;
}
