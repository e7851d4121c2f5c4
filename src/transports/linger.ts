// Bounds the wait on a finished process's pipes: detects output held open by something else (a descendant).

import type { Readable } from 'node:stream';

/** After a process exited: how long its open pipes may stay silent, with a reader waiting, before they count as held. */
export const LINGER_MS = 2000;
const POLL_MS = 250;

export interface Watched {
  stream: Readable;
  /** Bytes received so far (a socket's bytesRead, or a counter fed by a 'data' listener). */
  bytes: () => number;
}

function finished(s: Readable): boolean {
  return s.destroyed || s.readableEnded;
}

/**
 * Calls `onHeld` once when every stream still open is waiting for data (flowing, nothing buffered) and none received
 * a byte for `quietMs`: the process is gone, so whatever keeps them open is not it. A stream that is paused or holds
 * buffered bytes waits on its consumer, not on the writer, and never counts as held. Returns a function that stops
 * watching; watching also stops when every stream finished.
 */
export function watchLinger(watched: Watched[], onHeld: () => void, quietMs = LINGER_MS): () => void {
  let last = watched.map((w) => w.bytes());
  let quiet = 0;
  const timer = setInterval(() => {
    const open = watched.filter((w) => !finished(w.stream));
    if (open.length === 0) return stop();
    const now = watched.map((w) => w.bytes());
    const moved = now.some((b, i) => b !== last[i]);
    last = now;
    const waiting = open.every((w) => w.stream.readableFlowing === true && w.stream.readableLength === 0);
    quiet = moved || !waiting ? 0 : quiet + POLL_MS;
    if (quiet >= quietMs) {
      stop();
      onHeld();
    }
  }, POLL_MS);
  function stop(): void {
    clearInterval(timer);
  }
  return stop;
}
