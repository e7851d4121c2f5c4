// An engine's own reader over a whole downloaded artifact, as data (pure): the commands verify and restore run on the
// runner and how each one's output is judged; or a throwaway DBMS the artifact is loaded into (Neo4j), which the
// app runs (app/neo4j/scratch.ts).

import type { CommandSpec } from '../domain/command.js';

/** One reading of the artifact; `judge` turns its stdout into a verdict (without it: ok, the last line). */
export interface NativeCheckStep {
  tool: string;
  /** Said in the report before it runs. */
  report: string;
  command: CommandSpec;
  judge?: ((stdout: string) => { ok: boolean; detail: string }) | undefined;
  /** Words for the operator when the tool fails (e.g. what a cut-short archive looks like). */
  explainFailure?: ((stderr: string) => string | undefined) | undefined;
}

export type NativeCheckPlan =
  | {
      kind: 'commands';
      steps: NativeCheckStep[];
      /**
       * The reader's version against what made the artifact (the manifest's tools), judged before anything is
       * downloaded: a problem is a configuration error (exit 2) naming what to install.
       */
      toolCheck?:
        | {
            command: CommandSpec;
            judge: (
              stdout: string,
              made: Readonly<Record<string, string>>,
            ) => { problem: string; hint: string } | undefined;
          }
        | undefined;
      /** The verdict when every step passed: the tool named and what was read, from the steps' details. */
      summary: (details: string[]) => { tool: string; detail: string };
    }
  | { kind: 'scratch-dbms'; describe: (format: string) => string };
