// Turns AWS SDK errors into StorageErrors that name the cause and the fix.

import { ConfigError, IgbackupError, NotFoundError, StorageError } from '../domain/errors.js';

interface SdkLikeError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
  cause?: unknown;
}

/** Wraps an SDK error for an operation on `where` (bucket/key) against `endpoint`. */
export function translateS3Error(err: unknown, op: string, where: string, endpoint: string, kmsKeyId?: string): Error {
  if (err instanceof IgbackupError) return err;
  const e = (err ?? {}) as SdkLikeError;
  const code = e.name ?? e.Code ?? e.code ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const text = `${code}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(err)}`;
  const net = networkCode(err);
  if (net === 'timeout') {
    const attempts = e.$metadata?.attempts ? ` after ${e.$metadata.attempts} attempts` : '';
    return new StorageError(`${op} ${where}: the S3 endpoint ${endpoint} stopped answering (timed out${attempts})`, {
      cause: err,
      hint: 'check the server and the network; storage.connectTimeoutSec and storage.idleTimeoutSec bound every wait',
    });
  }
  if (net) {
    return new StorageError(`${op} ${where}: cannot reach the S3 endpoint ${endpoint} (${net})`, {
      cause: err,
      hint: "check the env's storage.endpoint/region and that the server is up and reachable",
    });
  }
  if (code === 'CredentialsProviderError') return missingCredentials(op, where, e.message);
  if (code === 'NoSuchKey' || code === 'NotFound' || status === 404) {
    if (code === 'NoSuchBucket') {
      return new StorageError(`${op} ${where}: the bucket does not exist`, {
        cause: err,
        hint: 'create it (igbackup storage init) or fix storage.bucket',
      });
    }
    return new NotFoundError(`${op} ${where}: no such object`, { cause: err });
  }
  if (/actual key|kms|KMS\./i.test(`${code} ${e.message ?? ''}`) || code === 'KMS.NotFoundException') {
    return new StorageError(`${op} ${where}: the KMS key ${kmsKeyId ?? '(none)'} cannot be used: ${text}`, {
      cause: err,
      hint: 'check storage.kmsKeyId and that the credentials may use the key (kms:GenerateDataKey and kms:Decrypt)',
    });
  }
  if (code === 'AccessDenied' || code === 'InvalidAccessKeyId' || code === 'SignatureDoesNotMatch' || status === 403) {
    return new StorageError(`${op} ${where}: access denied: ${text}`, {
      cause: err,
      hint: 'check the AWS credentials (default chain: env vars, profile, instance/IRSA role) and the bucket policy',
    });
  }
  return new StorageError(`${op} ${where} failed: ${text}`, { cause: err });
}

/** No credentials anywhere in the AWS default chain: a setup problem, found before anything was stored (exit 2). */
function missingCredentials(op: string, where: string, sdkMessage: string | undefined): ConfigError {
  return new ConfigError(
    `${op} ${where}: no AWS credentials found (${sdkMessage ?? 'the default chain found none'}: tried the environment, the shared config and credentials files, SSO, and a container or instance role)`,
    [],
    {
      hint:
        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary keys), or AWS_PROFILE or the env's storage.profile " +
        'naming a profile in ~/.aws/credentials or ~/.aws/config (paths: AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE), ' +
        'or run with an instance, ECS task or IRSA role (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE)',
    },
  );
}

function networkCode(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 5; depth++) {
    const c = cur as { code?: unknown; name?: unknown; errors?: unknown[]; cause?: unknown };
    if (
      typeof c.code === 'string' &&
      /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EPIPE)$/.test(c.code)
    ) {
      return c.code;
    }
    if (c.name === 'TimeoutError') return 'timeout';
    if (Array.isArray(c.errors) && c.errors[0]) cur = c.errors[0];
    else cur = c.cause;
  }
  return undefined;
}
