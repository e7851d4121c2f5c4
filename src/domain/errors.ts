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

/** How a run of a program failed, as far as its exit status tells. */
export type FailureKind = 'exit' | 'not-found' | 'cannot-start' | 'stopped' | 'signal' | 'transport';

interface RunResult {
  exitCode?: number | undefined;
  signal?: string | undefined;
  stderrTail: string;
  startError?: string | undefined;
  /** Set by remote transports: where the command ran. */
  where?: string | undefined;
}

const SIGNALS: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  6: 'SIGABRT',
  7: 'SIGBUS',
  9: 'SIGKILL',
  11: 'SIGSEGV',
  13: 'SIGPIPE',
  15: 'SIGTERM',
};

/** A shell (or kubectl exec, or a container runtime) reports a process killed by signal N as exit code 128 + N. */
export function signalOfExitCode(code: number | undefined): string | undefined {
  return code !== undefined && code > 128 ? SIGNALS[code - 128] : undefined;
}

const SIGNAL_HINTS: Record<string, string> = {
  SIGKILL:
    'SIGKILL comes from outside the program: usually the out-of-memory killer (dmesg on the host, OOMKilled in `kubectl describe pod`) or an operator or supervisor; check the memory limits and retry',
  SIGTERM:
    'something asked it to stop (an operator, a shutdown, a container being terminated); retry when the host is stable',
  SIGINT: 'it was interrupted (Ctrl-C or a supervisor); retry',
  SIGHUP: 'its session ended (a closed terminal or SSH session); retry',
  SIGPIPE: 'whatever read its output went away first; the error before this one says why',
};

function signalHint(signal: string): string {
  return (
    SIGNAL_HINTS[signal] ??
    `${signal} means the program crashed or was stopped from outside; check the host's logs and retry`
  );
}

/** Classifies a failed run (pure): the callers' hints are about the program itself, so they fit only some kinds. */
export function classifyFailure(r: RunResult): FailureKind {
  if (r.startError) {
    if (r.where) return 'transport';
    if (/ENOENT|not found/i.test(`${r.startError} ${r.stderrTail}`)) return 'not-found';
    return /spawn|EACCES|EPERM|could not be started/i.test(r.startError) ? 'cannot-start' : 'stopped';
  }
  if (r.signal || signalOfExitCode(r.exitCode)) return 'signal';
  if (r.exitCode === 127) return 'not-found';
  return 'exit';
}

function describeFailure(command: string, r: RunResult, kind: FailureKind): { how: string; hint?: string } {
  if (kind === 'transport') {
    return {
      how: `could not be run on ${r.where ?? 'the remote side'} (transport failure: ${r.startError ?? 'the channel broke'})`,
      hint: `this is the connection to ${r.where ?? 'the remote side'}, not ${command}: ${
        r.where?.startsWith('ssh')
          ? "check that the host is reachable and accepts this user and key (the transport's host, port, user, identityFile or agent, knownHosts)"
          : "check that the pod exists and is running and that `kubectl exec` works with this context and kubeconfig (the transport's pod or selector, namespace, context, kubeconfig)"
      }, then retry`,
    };
  }
  if (kind === 'signal') {
    const fromCode = signalOfExitCode(r.exitCode);
    const signal = r.signal ?? fromCode ?? 'a signal';
    const how = r.signal
      ? `was killed by ${r.signal}`
      : `exited with code ${r.exitCode} (128 + ${(r.exitCode ?? 0) - 128}: killed by ${signal})`;
    return { how: `${how}${r.where ? ` on ${r.where}` : ''}`, hint: signalHint(signal) };
  }
  if (kind === 'stopped') {
    return {
      how: `was stopped by igbackup (${r.startError ?? 'see above'})`,
      hint: `igbackup ended ${command} for the reason above, not because of ${command}'s own work; nothing was stored`,
    };
  }
  if (kind === 'not-found' || kind === 'cannot-start') {
    const how = r.startError
      ? `could not be started${kind === 'not-found' ? ' (command not found)' : ''}`
      : 'exited with code 127 (command not found)';
    return { how: `${how}${r.where ? ` on ${r.where}` : ''}` };
  }
  // The server ended the session, not the program's own work: say who does that, instead of the program's hint.
  const ended = /terminating connection due to administrator command/.test(r.stderrTail)
    ? 'the PostgreSQL server ended the session (pg_terminate_backend: a restore swapping this database in, an operator, a failover); run it again'
    : undefined;
  return {
    how: `exited with code ${r.exitCode ?? 'unknown'}${r.where ? ` on ${r.where}` : ''}`,
    ...(ended ? { hint: ended } : {}),
  };
}

/**
 * A producer (pg_dump, redis-cli, ...) or consumer (pg_restore, psql) failed. The caller's hint is meant for the
 * program's own failure (a non-zero exit, or a program that is not installed); a program killed by a signal or a
 * broken SSH/kubectl channel gets a hint of its own instead.
 */
export class ProcessFailedError extends IgbackupError {
  readonly command: string;
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  readonly stderrTail: string;
  readonly kind: FailureKind;
  constructor(command: string, result: RunResult, options: { cause?: unknown; hint?: string } = {}) {
    const kind = classifyFailure(result);
    const { how, hint } = describeFailure(command, result, kind);
    let tail = result.stderrTail.trim();
    if (kind === 'transport' && result.startError) tail = tail.replace(result.startError, '').trim();
    super(`${command} ${how}${tail ? `:\n${tail}` : ''}`, { ...options, hint: hint ?? options.hint });
    this.command = command;
    this.exitCode = result.exitCode;
    this.signal = result.signal ?? signalOfExitCode(result.exitCode);
    this.stderrTail = result.stderrTail;
    this.kind = kind;
  }
}

/** The channel to where commands run failed: SSH connection or login, a jump host, kubectl get/exec, no Ready pod. */
export class TransportError extends IgbackupError {}

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

/**
 * A restore (or an offline backup) failed, or was cancelled, after it had stopped a service, and the recovery could
 * not bring the service back: the service is DOWN. The message's first line says so; `commands` would bring it back
 * (run on the named host); `cause` is what failed first.
 */
export class ServiceDownError extends IgbackupError {
  readonly service: string;
  readonly commands: string[];
  readonly recovery: string[];
  constructor(
    service: string,
    opts: { cause: unknown; commands: string[]; recovery: string[]; hint?: string | undefined; after?: string },
  ) {
    const first = `${service} is DOWN: igbackup stopped it for this operation and could not start it again`;
    const lines = [first, `what failed first: ${messageOf(opts.cause)}`, `recovery: ${opts.recovery.join('; ')}`];
    if (opts.after) lines.push(opts.after);
    super(lines.join('\n'), {
      cause: opts.cause,
      hint: opts.hint ?? `bring it back by hand: ${opts.commands.join(' && ')}`,
    });
    this.service = service;
    this.commands = opts.commands;
    this.recovery = opts.recovery;
  }
}

/**
 * A step of a plan failed and the completed steps were undone (or tried to be): what happened, in order. The exit code
 * is the cause's.
 */
export class RecoveryError extends IgbackupError {
  /** The step that failed. */
  readonly step: string;
  /** Each undo that ran, with "ok" or why it failed. */
  readonly recovery: string[];
  constructor(step: string, cause: unknown, recovery: string[]) {
    const first = messageOf(cause);
    super(`${first}\nrecovery: ${recovery.length ? recovery.join('; ') : 'nothing had been changed'}`, {
      cause,
      hint: cause instanceof IgbackupError ? cause.hint : undefined,
    });
    this.step = step;
    this.recovery = recovery;
  }
}

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
