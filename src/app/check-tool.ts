// Running a check tool on this machine (pg_restore --list, redis-check-rdb, neo4j-admin) and judging its result.

import { ProcessFailedError } from '../domain/errors.js';
import { capture } from '../transports/run.js';
import { succeeded, type CommandSpec } from '../transports/transport.js';
import type { AppContext } from './context.js';

export interface Check {
  tool: string;
  ok: boolean;
  detail: string;
}

/** Runs a check tool on this machine; a missing tool is an error of its own (the check did not happen). */
export async function runCheckTool(
  ctx: AppContext,
  tool: string,
  spec: CommandSpec,
  judge?: (stdout: string) => Check,
): Promise<Check> {
  const r = await capture(ctx.runner, spec);
  if (r.startError)
    throw new ProcessFailedError(tool, r, {
      hint: `install ${tool.split(' ')[0]} on this machine to run the native check`,
    });
  if (!succeeded(r)) return { tool, ok: false, detail: r.stderrTail.trim() || r.stdout.trim() };
  return judge ? judge(r.stdout) : { tool, ok: true, detail: r.stdout.trim().split('\n').slice(-1)[0] ?? '' };
}
