// Errors on their way up: a cancellation's reason as an Error, and the notes a cleanup adds to an error (what it
// removed or left behind: keys, versions), in order.

const NOTES = Symbol('igbackup.notes');

interface Noted {
  [NOTES]?: string[];
}

/** The notes added to `err` so far. */
export function notesOf(err: unknown): string[] {
  return err instanceof Error ? ((err as Noted)[NOTES] ?? []) : [];
}

/**
 * A copy of `err` (same class, so the same exit code; same hint and fields) whose message ends with `note`. The
 * original is left untouched: the same cancellation reason may travel up several paths.
 */
export function withNote(err: unknown, note: string): Error {
  if (!note) return err instanceof Error ? err : new Error(String(err));
  if (!(err instanceof Error)) return withNote(new Error(String(err)), note);
  const copy = Object.assign(Object.create(Object.getPrototypeOf(err) as object) as Error, err);
  Object.defineProperty(copy, 'message', { value: `${err.message}; ${note}`, writable: true, configurable: true });
  Object.defineProperty(copy, 'stack', { value: err.stack, writable: true, configurable: true });
  if (err.cause !== undefined)
    Object.defineProperty(copy, 'cause', { value: err.cause, writable: true, configurable: true });
  Object.defineProperty(copy, NOTES, { value: [...notesOf(err), note], enumerable: false });
  return copy;
}

/** The reason an AbortSignal was aborted with, as an Error (main aborts with a CancelledError). */
export function reasonOf(signal: AbortSignal | undefined): Error {
  const r: unknown = signal?.reason;
  return r instanceof Error ? r : new Error(String(r ?? 'cancelled'));
}
