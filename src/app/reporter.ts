// The Reporter use cases talk to instead of stdout: steps, warnings and byte progress.

export interface Reporter {
  /** A step that starts now, e.g. "dumping app". */
  step(message: string): void;
  warn(message: string): void;
  /** Bytes moved so far in the current step (called often; implementations throttle). */
  progress(bytes: number, total?: number): void;
}

/** A reporter that drops everything (tests, --quiet). */
export const silentReporter: Reporter = {
  step: () => undefined,
  warn: () => undefined,
  progress: () => undefined,
};
