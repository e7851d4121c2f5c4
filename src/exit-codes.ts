// The one map from error types to exit codes (README "Exit codes"); src/main.ts applies it.

import { CommanderError } from 'commander';
import {
  ArchivedError,
  CancelledError,
  ConfigError,
  ConfirmationRequiredError,
  DriftError,
  IgbackupError,
  IntegrityError,
  LockedError,
  NotFoundError,
  RecoveryError,
  ServiceDownError,
  SomeFailedError,
} from './domain/errors.js';

export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  if (err instanceof SomeFailedError) return exitCodeFor(err.failures[0]?.error);
  if (err instanceof ServiceDownError) return 69; // before CancelledError: a cancel that left a service down says so
  if (err instanceof RecoveryError) return exitCodeFor(err.cause); // undone after a failure: the failure's code
  if (err instanceof ConfigError) return 2;
  if (err instanceof IntegrityError) return 3;
  if (err instanceof NotFoundError) return 4;
  if (err instanceof ConfirmationRequiredError) return 5;
  if (err instanceof DriftError) return 6;
  if (err instanceof LockedError) return 7;
  if (err instanceof ArchivedError) return 75;
  if (err instanceof CancelledError) return 130;
  if (err instanceof IgbackupError || isOperational(err)) return 1;
  return 70; // a bug: nothing typed it, so nothing may be assumed about what it left behind
}

/** An error from the system or a library about the outside world (ENOSPC, ECONNRESET, an S3 error), not a bug. */
function isOperational(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; syscall?: unknown; $metadata?: unknown };
  return (
    typeof e.syscall === 'string' ||
    typeof e.$metadata === 'object' ||
    (typeof e.code === 'string' && /^E[A-Z0-9]+$/.test(e.code))
  );
}
