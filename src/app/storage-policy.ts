// Use case: `igbackup storage policy`: the least-privilege policies of one role for the env's prefix and KMS key
// (domain/s3-policy.ts): the IAM identity policy (AWS), and the bucket-policy form for S3-compatible servers whose
// users get their rights from the bucket's policy.

import { ConfigError } from '../domain/errors.js';
import {
  bucketPolicyStatements,
  identityPolicy,
  type PolicyDocument,
  type PolicyRole,
  type PolicyStatement,
} from '../domain/s3-policy.js';
import { selectEnv, type AppContext } from './context.js';

export interface StoragePolicy {
  env: string;
  role: PolicyRole;
  bucket: string;
  /** Attach to the role's IAM user or role (AWS). */
  identityPolicy: PolicyDocument;
  /** For servers without IAM (RADOS Gateway...): merge into the bucket's policy; its principals are the role's users. */
  bucketPolicy: { Version: '2012-10-17'; Statement: PolicyStatement[] };
  principals: string[];
}

export function storagePolicy(
  ctx: AppContext,
  o: { env: string; role: PolicyRole; principals?: string[] | undefined },
): StoragePolicy {
  const h = selectEnv(ctx, o.env);
  const s = h.env.storage;
  if (s.type !== 's3')
    throw new ConfigError(`env "${h.name}" keeps its backups in a file store, which has no access policy`, [], {
      hint: "a file store's protection is its directory's owner and mode (and the filesystem's snapshots): storage policy applies to S3",
    });
  const input = {
    bucket: s.bucket,
    storePrefix: s.prefix,
    env: h.name,
    kmsKeyId: s.kmsKeyId,
    pitr: Boolean(h.env.postgres?.pitr),
  };
  const principals = o.principals?.length ? o.principals : [`arn:aws:iam:::user/igbackup-${h.name}-${o.role}`];
  return {
    env: h.name,
    role: o.role,
    bucket: s.bucket,
    identityPolicy: identityPolicy(o.role, input),
    bucketPolicy: { Version: '2012-10-17', Statement: bucketPolicyStatements(o.role, input, principals) },
    principals,
  };
}
