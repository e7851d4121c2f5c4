// `restore postgres --with-globals`: downloads the small globals artifact first, plans what to run against the roles
// and tablespaces that exist (existing ones kept), then applies roles in one transaction and tablespaces one by one.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, IgbackupError, IntegrityError } from '../../domain/errors.js';
import { quoteIdent } from '../../domain/names.js';
import type { Manifest } from '../../domain/manifest.js';
import { planGlobals, redact, type GlobalsPlan } from '../../engines/postgres/globals.js';
import * as pg from '../../engines/postgres/commands.js';
import { decompressStage } from '../../pipeline/compress.js';
import { downloadVerified } from '../../pipeline/restore-stream.js';
import { capture } from '../../transports/run.js';
import { succeeded, type Transport } from '../../transports/transport.js';
import type { AppContext, EnvHandle } from '../context.js';
import type { RestoreFacts } from './restore-preflight.js';

/** What --with-globals did, for the text and --json output (role and tablespace names only, never a password). */
export interface GlobalsOutcome {
  rolesCreated: string[];
  rolesKept: string[];
  rolesOverwritten: string[];
  tablespacesCreated: string[];
  tablespacesKept: string[];
  notes: string[];
}

/**
 * Downloads the backup's globals (verified, decompressed) into the workspace and plans them against the target's
 * roles and tablespaces; refuses (ConfigError) a globals file with statements it does not recognise. Changes nothing.
 */
export async function prepareGlobals(
  ctx: AppContext,
  h: EnvHandle,
  m: Manifest,
  w: { key: string; dir: string; facts: RestoreFacts; overwriteRoles: boolean },
): Promise<GlobalsPlan> {
  const globals = m.artifacts.find((a) => a.role === 'globals');
  if (!globals) throw new IntegrityError(`${w.key} was taken without --globals; restore without --with-globals`);
  const path = join(w.dir, 'globals.sql');
  ctx.reporter.step(`downloading ${globals.key} and checking its sha256`);
  await downloadVerified(h.store, globals.key, path, globals, {
    signal: ctx.signal,
    decompress: decompressStage(m.compression, ctx.runner),
  });
  const f = w.facts;
  const plan = planGlobals(
    await readFile(path, 'utf8'),
    { roles: f.roles, tablespaces: f.tablespaces, databases: f.databases, user: f.user, superuser: f.superuser },
    { overwriteRoles: w.overwriteRoles },
  );
  for (const s of plan.secrets) ctx.secrets.add(s);
  if (plan.refused.length) {
    throw new ConfigError(
      `the backup's globals hold ${plan.refused.length} statement(s) igbackup does not apply, so none of them is applied: ${plan.refused[0]}`,
      plan.refused,
      {
        hint: `restore without --with-globals, then apply the roles you need by hand from ${globals.key}`,
      },
    );
  }
  return plan;
}

async function runScript(
  transport: Transport,
  conn: pg.PgConnection,
  db: string,
  sql: string,
  plan: GlobalsPlan,
): Promise<string | undefined> {
  // Terse errors: the server's message without the statement's text (which may carry a password hash).
  const r = await capture(transport, pg.psqlCommand(conn, db), `\\set VERBOSITY terse\n${sql}`);
  if (succeeded(r)) return undefined;
  return redact(r.stderrTail.trim() || `psql exited with code ${r.exitCode ?? r.signal ?? '?'}`, plan.secrets);
}

/**
 * Applies a plan: the roles in one transaction (all or nothing, ON_ERROR_STOP), then each new tablespace on its own
 * (CREATE TABLESPACE cannot run in a transaction); the first failure stops the restore before the database is touched.
 */
export async function applyGlobals(
  ctx: AppContext,
  transport: Transport,
  conn: pg.PgConnection,
  db: string,
  plan: GlobalsPlan,
): Promise<GlobalsOutcome> {
  const names = (l: string[]): string => (l.length ? l.map(quoteIdent).join(', ') : 'none');
  ctx.reporter.step(
    `applying globals: creating roles ${names(plan.created)}; keeping existing ${names(plan.kept)}${plan.overwritten.length ? `; overwriting ${names(plan.overwritten)}` : ''}`,
  );
  for (const n of plan.notes) ctx.reporter.warn(`globals: ${n}`);
  if (plan.roleSql) {
    const err = await runScript(transport, conn, db, plan.roleSql, plan);
    if (err) {
      throw new IgbackupError(
        `applying the backup's roles failed, the transaction was rolled back (no role changed) and the database was not touched: ${err}`,
        {
          hint: 'fix the cause above and retry, or restore without --with-globals',
        },
      );
    }
  }
  const created: string[] = [];
  for (const t of plan.tablespaces) {
    ctx.reporter.step(`creating tablespace ${quoteIdent(t.name)}`);
    const err = await runScript(transport, conn, db, t.sql, plan);
    if (err) {
      throw new IgbackupError(
        `creating tablespace ${quoteIdent(t.name)} failed: ${err}. Roles were applied (created: ${names(plan.created)}); tablespaces created before it: ${names(created)}; the database was not touched`,
        {
          hint: "its LOCATION must exist on the database server, be empty and owned by the server's OS user; create it and retry, or restore without --with-globals",
        },
      );
    }
    created.push(t.name);
  }
  return {
    rolesCreated: plan.created,
    rolesKept: plan.kept,
    rolesOverwritten: plan.overwritten,
    tablespacesCreated: created,
    tablespacesKept: plan.tablespacesKept,
    notes: plan.notes,
  };
}
