// A tiny evaluator of the policies src/domain/s3-policy.ts builds, for the unit tests: whether a role may make one S3
// request. Understands only what that module emits (Allow statements, ARN wildcards, StringLike s3:prefix).

import { identityPolicy, type PolicyInput, type PolicyRole, type PolicyStatement } from '../../src/domain/s3-policy.js';

/** IAM-style match: "*" any run of characters, "?" one character, the rest literal. */
function globMatch(pattern: string, value: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 's').test(value);
}

/** Only StringLike on s3:prefix is understood; anything else fails closed. */
function conditionHolds(condition: PolicyStatement['Condition'], listPrefix: string | undefined): boolean {
  if (condition === undefined) return true;
  return Object.entries(condition).every(([operator, keys]) =>
    Object.entries(keys).every(
      ([key, patterns]) =>
        operator === 'StringLike' &&
        key === 's3:prefix' &&
        listPrefix !== undefined &&
        patterns.some((p) => globMatch(p, listPrefix)),
    ),
  );
}

/**
 * Whether identityPolicy(role) allows the S3 `action` on object `key`, or on the bucket (key undefined) listed with
 * `listPrefix`. Understands only what this module emits: Allow statements, ARN wildcards, StringLike s3:prefix.
 */
export function allows(
  role: PolicyRole,
  input: PolicyInput,
  action: string,
  key?: string,
  listPrefix?: string,
): boolean {
  const bucketArn = `arn:aws:s3:::${input.bucket}`;
  const requested = key === undefined ? bucketArn : `${bucketArn}/${key}`;
  return identityPolicy(role, input).Statement.some((st) => {
    const resources = Array.isArray(st.Resource) ? st.Resource : [st.Resource];
    return (
      st.Action.includes(action) &&
      resources.some((r) => globMatch(r, requested)) &&
      conditionHolds(st.Condition, listPrefix)
    );
  });
}
