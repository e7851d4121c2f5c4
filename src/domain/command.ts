// A command to run, as data: engines build these, transports run them.

export interface CommandSpec {
  /** Program and arguments; never passed through a shell by the local transport. */
  argv: string[];
  /** Extra environment for the command (secrets go here, never into argv). */
  env?: Record<string, string> | undefined;
  /** Whether the caller will write to stdin; otherwise stdin is closed at once. */
  stdin?: 'pipe' | 'ignore' | undefined;
}
