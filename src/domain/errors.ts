// Typed errors of igbackup; src/main.ts maps each kind to one documented exit code.

/** Base class: every igbackup error carries a short hint telling the operator what to do next. */
export class IgbackupError extends Error {
  readonly hint: string | undefined;
  constructor(message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

/** Bad config file, flags, names or keys: detected before anything runs. */
export class ConfigError extends IgbackupError {
  readonly problems: string[];
  constructor(message: string, problems: string[] = [], options: { cause?: unknown; hint?: string } = {}) {
    super(message, options);
    this.problems = problems;
  }
}

/** A producer (pg_dump, redis-cli, ...) or consumer (pg_restore, psql) exited badly. */
export class ProcessFailedError extends IgbackupError {
  readonly command: string;
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly stderrTail: string;
  constructor(
    command: string,
    result: {
      exitCode?: number | undefined;
      signal?: string | undefined;
      stderrTail: string;
      startError?: string | undefined;
    },
    options: { cause?: unknown; hint?: string } = {},
  ) {
    const how = result.startError
      ? 'failed'
      : result.signal
        ? `was killed by ${result.signal}`
        : `exited with code ${result.exitCode ?? 'unknown'}`;
    const tail = result.stderrTail.trim();
    super(`${command} ${how}${tail ? `:\n${tail}` : ''}`, options);
    this.command = command;
    this.exitCode = result.exitCode;
    this.signal = result.signal;
    this.stderrTail = result.stderrTail;
  }
}

/** Object store failures: unreachable endpoint, access denied, KMS key problems, missing objects. */
export class StorageError extends IgbackupError {}

/** Bytes do not match what was recorded: size or sha256 differ, an artifact is incomplete or has no manifest. */
export class IntegrityError extends IgbackupError {}

/** A requested backup, key or target does not exist. */
export class NotFoundError extends IgbackupError {}

/** The operator has to confirm (protected env) and did not, or the run is non-interactive. */
export class ConfirmationRequiredError extends IgbackupError {}

/** A check (redis check, storage check) found settings that differ from what the config expects. */
export class DriftError extends IgbackupError {}

/** Another run holds the lock for this engine and env. */
export class LockedError extends IgbackupError {}

/** The backup sits in an archive storage class; a restore was requested; retry later. */
export class ArchivedError extends IgbackupError {}

/** The operation was cancelled by a signal (SIGINT/SIGTERM). */
export class CancelledError extends IgbackupError {}

/** A run over several databases in which some failed (the others were backed up); exit code of the first failure. */
export class SomeFailedError extends IgbackupError {
  readonly failures: { database: string; error: unknown }[];
  constructor(message: string, failures: { database: string; error: unknown }[], options: { hint?: string } = {}) {
    super(message, { ...options, cause: failures[0]?.error });
    this.failures = failures;
  }
}

/** Returns a readable one-line message for any thrown value. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
