// Least-privilege policies per role for one env's key prefix P = <storePrefix>/<env> (igbackup storage policy).
// Pure: builds IAM identity policies and bucket-policy statements for S3-compatible servers (the unit tests judge
// them with test/helpers/s3-policy-eval.ts).

import { joinKey } from './keys.js';

export const POLICY_ROLES = ['backup', 'restore', 'prune', 'admin'] as const;
export type PolicyRole = (typeof POLICY_ROLES)[number];

export interface PolicyInput {
  bucket: string;
  storePrefix: string;
  env: string;
  kmsKeyId: string;
  /**
   * postgres.pitr is on: pgBackRest's repository `<storePrefix>/pgbackrest/<env>/` is granted too (pgBackRest runs with
   * the job's identity when its credentials come from the environment or the instance: it writes, reads and expires
   * there; under Object Lock its deletes are delete markers).
   */
  pitr?: boolean | undefined;
}

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string[]>>;
  Principal?: { AWS: string[] };
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

/** One statement before it gets its Sid: `name` is the role-independent part of the Sid. */
interface Rule {
  name: string;
  actions: string[];
  resources: string[];
  condition?: Record<string, Record<string, string[]>>;
}

/** The ARNs of one env: the bucket, and objects under P (`objects('')` is `B/P/*`). */
interface Scope {
  bucket: string;
  prefix: string;
  objects: (sub: string) => string;
  /** pgBackRest's repository objects, when PITR is on. */
  repo?: string | undefined;
}

const WILDCARDS = /[*?$]/;

function checkPart(what: string, value: string, opts: { required: boolean; slash: boolean }): void {
  if (opts.required && value.trim() === '') throw new Error(`${what} must not be empty`);
  if (!opts.slash && value.includes('/')) throw new Error(`${what} "${value}" must not contain "/"`);
  if (WILDCARDS.test(value)) throw new Error(`${what} "${value}" must not contain "*", "?" or "$" (policy wildcards)`);
}

function checkInput(input: PolicyInput): void {
  checkPart('bucket', input.bucket, { required: true, slash: false });
  checkPart('storePrefix', input.storePrefix, { required: false, slash: true });
  checkPart('env', input.env, { required: true, slash: false });
  checkPart('kmsKeyId', input.kmsKeyId, { required: true, slash: true });
}

function scopeOf(input: PolicyInput): Scope {
  checkInput(input);
  const bucket = `arn:aws:s3:::${input.bucket}`;
  const prefix = joinKey(input.storePrefix, input.env);
  const repo = input.pitr ? `${bucket}/${joinKey(input.storePrefix, 'pgbackrest', input.env)}/*` : undefined;
  return { bucket, prefix, objects: (sub) => `${bucket}/${prefix}/${sub}*`, repo };
}

// Rule building blocks, shared by the roles.

/**
 * Listing. s3:ListBucket has no prefix condition: S3 answers a HeadObject of a missing key with 403 instead of 404
 * unless the caller may list the bucket (the condition's prefix is absent there), and igbackup must tell "no lock" from
 * "no access". So a role sees the key names of other envs in the same bucket (never their contents): one bucket per
 * env separates them fully. Version listings stay within the env's prefix.
 */
const listRule = (s: Scope): Rule => ({
  name: 'List',
  actions: ['s3:ListBucket'],
  resources: [s.bucket],
});

const listVersionsRule = (s: Scope): Rule => ({
  name: 'ListVersions',
  actions: ['s3:ListBucketVersions'],
  resources: [s.bucket],
  condition: { StringLike: { 's3:prefix': [`${s.prefix}/`, `${s.prefix}/*`] } },
});

/**
 * Releasing lock leases and storage probes: a delete marker under Object Lock; without it, every version of them is
 * removed (s3:DeleteObjectVersion), here and nowhere else, so a released lease leaves nothing behind.
 */
const releaseControlRule = (s: Scope): Rule => ({
  name: 'ReleaseControl',
  actions: ['s3:DeleteObject', 's3:DeleteObjectVersion'],
  resources: [s.objects('.igbackup/locks/'), s.objects('.igbackup-check/')],
});

/** Reading the bucket's Object Lock setting (doctor checks it under every role). */
const lockConfigRule = (s: Scope): Rule => ({
  name: 'LockConfig',
  actions: ['s3:GetBucketObjectLockConfiguration'],
  resources: [s.bucket],
});

const listUploadsRule = (s: Scope): Rule => ({
  name: 'ListUploads',
  actions: ['s3:ListBucketMultipartUploads'],
  resources: [s.bucket],
});

const BACKUP_OBJECT_ACTIONS = [
  's3:PutObject',
  's3:GetObject',
  's3:GetObjectVersion',
  's3:PutObjectRetention',
  's3:GetObjectRetention',
  's3:AbortMultipartUpload',
  's3:ListMultipartUploadParts',
];

const BUCKET_SETUP_ACTIONS = [
  's3:CreateBucket',
  's3:GetBucketVersioning',
  's3:PutBucketVersioning',
  's3:GetBucketObjectLockConfiguration',
  's3:PutBucketObjectLockConfiguration',
  's3:GetLifecycleConfiguration',
  's3:PutLifecycleConfiguration',
  's3:GetEncryptionConfiguration',
  's3:PutEncryptionConfiguration',
  's3:GetBucketPolicy',
  's3:PutBucketPolicy',
  's3:DeleteBucketPolicy',
  's3:GetBucketPublicAccessBlock',
  's3:PutBucketPublicAccessBlock',
  's3:GetBucketLocation',
];

function backupRules(s: Scope): Rule[] {
  return [
    { name: 'Write', actions: BACKUP_OBJECT_ACTIONS, resources: [s.objects('')] },
    releaseControlRule(s),
    lockConfigRule(s),
    listRule(s),
    listVersionsRule(s),
    listUploadsRule(s),
  ];
}

function restoreRules(s: Scope): Rule[] {
  return [
    {
      name: 'Read',
      actions: ['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectRetention', 's3:RestoreObject'],
      resources: [s.objects('')],
    },
    {
      name: 'ControlWrite',
      actions: ['s3:PutObject', 's3:PutObjectRetention'],
      resources: [s.objects('.igbackup/'), s.objects('.igbackup-check/')],
    },
    releaseControlRule(s),
    lockConfigRule(s),
    listRule(s),
    listVersionsRule(s),
  ];
}

function pruneRules(s: Scope): Rule[] {
  return [
    ...restoreRules(s),
    { name: 'Prune', actions: ['s3:DeleteObject', 's3:DeleteObjectVersion'], resources: [s.objects('')] },
  ];
}

function adminRules(s: Scope): Rule[] {
  return [
    ...pruneRules(s),
    {
      name: 'Write',
      actions: ['s3:PutObject', 's3:PutObjectRetention', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
      resources: [s.objects('')],
    },
    listUploadsRule(s),
    { name: 'BucketSetup', actions: BUCKET_SETUP_ACTIONS, resources: [s.bucket] },
  ];
}

/**
 * pgBackRest's repository (PITR): every role that runs pgBackRest writes, reads and deletes there (archive-push and
 * backups write, expire deletes; a restored cluster archives its new timeline, and an undone in-place restore removes
 * the history file it pushed).
 */
const repoRules = (s: Scope): Rule[] =>
  s.repo
    ? [{ name: 'Pgbackrest', actions: ['s3:DeleteObject', 's3:GetObject', 's3:PutObject'], resources: [s.repo] }]
    : [];

const ROLE_RULES: Record<PolicyRole, (s: Scope) => Rule[]> = {
  backup: (s) => [...backupRules(s), ...repoRules(s)],
  restore: (s) => [...restoreRules(s), ...repoRules(s)],
  prune: (s) => [...pruneRules(s), ...repoRules(s)],
  admin: (s) => [...adminRules(s), ...repoRules(s)],
};

/** Every role reads and writes SSE-KMS objects (restore and prune write control objects). */
const KMS_ACTIONS = ['kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKey'];

/**
 * The KMS key as a policy resource: a key ARN as given, a key id as `arn:aws:kms:*:*:key/<id>`. An alias cannot be a
 * Resource for key use, so an alias (or alias ARN) becomes any key in scope carrying that alias (kms:ResourceAliases).
 */
function kmsRule(kmsKeyId: string): Omit<Rule, 'name' | 'actions'> {
  const aliasArn = /^(arn:[^:]+:kms:[^:]*:[^:]*):(alias\/.+)$/.exec(kmsKeyId);
  const alias = aliasArn?.[2] ?? (kmsKeyId.startsWith('alias/') ? kmsKeyId : undefined);
  if (alias !== undefined) {
    const base = aliasArn?.[1] ?? 'arn:aws:kms:*:*';
    return {
      resources: [`${base}:key/*`],
      condition: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': [alias] } },
    };
  }
  return { resources: [kmsKeyId.startsWith('arn:') ? kmsKeyId : `arn:aws:kms:*:*:key/${kmsKeyId}`] };
}

function toStatement(sid: string, rule: Rule): PolicyStatement {
  const statement: PolicyStatement = {
    Sid: sid,
    Effect: 'Allow',
    Action: [...rule.actions].sort(),
    Resource: rule.resources.length === 1 ? (rule.resources[0] as string) : [...rule.resources],
  };
  if (rule.condition !== undefined) statement.Condition = rule.condition;
  return statement;
}

/** "prune" → "Prune", "eu-prod_2" → "EuProd2": Sid parts keep letters and digits only. */
function sidPart(text: string): string {
  return text
    .split(/[^A-Za-z0-9]+/)
    .filter((w) => w.length > 0)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

/** IAM identity policy for the role (attach to a user or role), KMS statement included. */
export function identityPolicy(role: PolicyRole, input: PolicyInput): PolicyDocument {
  const s = scopeOf(input);
  const prefix = `Igbackup${sidPart(role)}`;
  const rules = [...ROLE_RULES[role](s), { name: 'Kms', actions: KMS_ACTIONS, ...kmsRule(input.kmsKeyId) }];
  return { Version: '2012-10-17', Statement: rules.map((r) => toStatement(`${prefix}${r.name}`, r)) };
}

/**
 * Bucket-policy statements for S3-compatible servers: the S3 statements only (a bucket policy cannot grant KMS),
 * each with Principal { AWS: principals }; Sids carry env and role so several envs and roles can share one policy.
 */
export function bucketPolicyStatements(role: PolicyRole, input: PolicyInput, principals: string[]): PolicyStatement[] {
  const s = scopeOf(input);
  if (principals.length === 0 || principals.some((p) => p.trim() === '')) {
    throw new Error('principals must be a non-empty list of non-empty principal ARNs');
  }
  const prefix = `Igbackup${sidPart(input.env)}${sidPart(role)}`;
  return ROLE_RULES[role](s).map((r) => ({
    ...toStatement(`${prefix}${r.name}`, r),
    Principal: { AWS: [...principals] },
  }));
}
