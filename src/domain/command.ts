// A command to run, as data: engines build these, transports run them.

export interface CommandSpec {
  /** Program and arguments; never passed through a shell by the local transport. */
  argv: string[];
  /** Extra environment for the command (secrets go here, never into argv). */
  env?: Record<string, string> | undefined;
  /** Whether the caller will write to stdin; otherwise stdin is closed at once. */
  stdin?: 'pipe' | 'ignore' | undefined;
  /**
   * For a command whose output is captured (transports/run.ts capture): killed, and a failure saying so, when it has
   * not finished within this long (a server that accepts the connection and never answers).
   */
  timeoutMs?: number | undefined;
}
