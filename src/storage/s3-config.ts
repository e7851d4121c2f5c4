// The S3 client's configuration (bounded waits, retries, checksums) and pure readers of S3 response headers.

import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { S3StorageConfig } from '../config/schema.js';
import { ConfigError } from '../domain/errors.js';

export const S3_CONNECT_TIMEOUT_SEC = 10;
export const S3_IDLE_TIMEOUT_SEC = 60;

export function s3ClientConfig(cfg: S3StorageConfig): S3ClientConfig {
  // S3 refuses Object Lock writes that carry no checksum (Content-MD5 or x-amz-checksum-*): with immutability, `auto`
  // sends them to custom endpoints too.
  const auto = cfg.endpoint && !cfg.immutability ? 'when_required' : 'when_supported';
  const checksums = cfg.checksums === 'auto' ? auto : cfg.checksums;
  const mode = checksums === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
  return {
    region: cfg.region,
    ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
    forcePathStyle: cfg.forcePathStyle ?? Boolean(cfg.endpoint),
    ...(cfg.profile ? { profile: cfg.profile } : {}),
    requestChecksumCalculation: mode,
    responseChecksumValidation: mode,
    // Every wait is bounded: a connection not made within connectTimeoutSec, or a request on which no byte moves
    // for idleTimeoutSec (a stalled upload, a download that stops mid-body), fails and is retried; 3 attempts.
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({
      connectionTimeout: (cfg.connectTimeoutSec ?? S3_CONNECT_TIMEOUT_SEC) * 1000,
      socketTimeout: (cfg.idleTimeoutSec ?? S3_IDLE_TIMEOUT_SEC) * 1000,
      httpsAgent: new GuardedHttpsAgent({
        keepAlive: true,
        maxSockets: 50,
        ...(cfg.caFile ? { ca: [...rootCertificates, readCa(cfg.caFile)] } : {}),
      }),
    }),
  };
}

/**
 * An HTTPS agent whose sockets always have an error listener. When the server answers and closes while a request body
 * is still being written (e.g. an upload refused with AccessDenied), the TLS socket can report EPIPE after the request
 * let go of it; with no listener Node would crash the process. The request itself still gets the error through its
 * own listener while it holds the socket.
 */
class GuardedHttpsAgent extends Agent {
  override createConnection(...args: Parameters<Agent['createConnection']>): ReturnType<Agent['createConnection']> {
    const socket = super.createConnection(...args);
    socket?.on('error', () => undefined);
    return socket;
  }
}

/** The private CA's certificate(s), read once when the client is made; an unreadable or non-PEM file is a config error. */
function readCa(path: string): string {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`storage.caFile: cannot read ${path}: ${(err as Error).message}`, [], {
      hint: 'point caFile at the PEM file of the CA that signed the endpoint certificate (relative paths are resolved against the config file)',
    });
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigError(`storage.caFile: ${path} holds no PEM certificate`, [], {
      hint: 'caFile takes a PEM file ("-----BEGIN CERTIFICATE-----"), e.g. the CA certificate of the S3 endpoint',
    });
  }
  return pem;
}

/** S3 may report the key id as given, or as a full ARN of it. */
export function kmsKeyMatches(reported: string | undefined, configured: string): boolean {
  if (!reported) return false;
  if (reported === configured) return true;
  const tail = (s: string): string => s.replace(/^arn:[^:]*:kms:[^:]*:[^:]*:key\//, '');
  return tail(reported) === tail(configured) || reported.endsWith(`/${configured}`);
}

/** x-amz-restore: 'ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"' (pure). */
export function parseRestoreHeader(h: string | undefined): { ongoing: boolean; expiry?: string } | undefined {
  if (!h) return undefined;
  const ongoing = /ongoing-request="true"/.test(h);
  const expiry = /expiry-date="([^"]+)"/.exec(h)?.[1];
  return { ongoing, ...(expiry ? { expiry } : {}) };
}
