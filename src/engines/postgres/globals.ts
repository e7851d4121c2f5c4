// Globals restore planner (pure): classifies pg_dumpall --globals-only statements and decides what to run on a
// target server so that roles and tablespaces that exist there are kept exactly as they are.

import { quoteIdent } from '../../domain/names.js';
import { describeStatement, splitSql, type Statement, type Token } from './sql-lexer.js';

export type GlobalKind =
  | 'set'
  | 'create-role'
  | 'alter-role'
  | 'role-setting'
  | 'comment-role'
  | 'grant-role'
  | 'label-role'
  | 'create-tablespace'
  | 'tablespace-detail'
  | 'psql-restrict'
  | 'unknown';

export interface GlobalStatement {
  kind: GlobalKind;
  st: Statement;
  /** The role (create/alter/comment/label/setting) or the tablespace the statement is about. */
  name?: string;
  /** role-setting: ALTER ROLE … IN DATABASE this. */
  database?: string;
  /** grant-role: the parts of GRANT granted TO members [with] [GRANTED BY grantor]. */
  grant?: { granted: Token[]; members: Token[]; withClause: Token[]; grantor?: string };
  /** String literals that follow PASSWORD: never to be shown. */
  secrets: string[];
  /** unknown: why it was not recognised. */
  why?: string;
}

/** What exists on the target server (read as JSON from pg_roles, pg_tablespace, pg_database). */
export interface TargetGlobals {
  roles: string[];
  tablespaces: string[];
  databases: string[];
  /** The role igbackup connects as. */
  user: string;
  superuser: boolean;
}

export interface GlobalsPlan {
  /** SQL for the roles, in one transaction (BEGIN … COMMIT), or '' when there is nothing to do. */
  roleSql: string;
  /** One script per tablespace to create (CREATE TABLESPACE cannot run in a transaction). */
  tablespaces: { name: string; sql: string }[];
  created: string[];
  kept: string[];
  overwritten: string[];
  tablespacesKept: string[];
  /** Statements refused (not recognised), described without their string literals; the plan must not run then. */
  refused: string[];
  notes: string[];
  /** Password literals met in the SQL, for redaction of anything the server says back. */
  secrets: string[];
}

const SAFE_SETTINGS = new Set(['client_encoding', 'standard_conforming_strings', 'default_transaction_read_only']);
const ROLE_OPTION =
  /^(no)?(superuser|createdb|createrole|inherit|login|replication|bypassrls)$|^(connection|password|encrypted|valid|sysid|in|role|admin|user)$/;

function nameOf(t: Token | undefined): string | undefined {
  if (!t) return undefined;
  if (t.kind === 'ident') return t.value;
  return t.kind === 'word' ? t.value : undefined;
}

/** True when the tokens start with these lower-case words. */
function starts(tokens: Token[], ...words: string[]): boolean {
  return words.every((w, i) => tokens[i]?.kind === 'word' && tokens[i]?.value === w);
}

function passwords(tokens: Token[]): string[] {
  return tokens.flatMap((t, i) => (t.kind === 'string' && tokens[i - 1]?.value === 'password' ? [t.value, t.src] : []));
}

function classifyGrant(st: Statement, t: Token[]): GlobalStatement {
  const to = t.findIndex((x) => x.kind === 'word' && x.value === 'to');
  const on = t.findIndex((x) => x.kind === 'word' && x.value === 'on');
  if (on > 0 && (to < 0 || on < to)) {
    if (t[on + 1]?.value === 'tablespace')
      return { kind: 'tablespace-detail', st, name: nameOf(t[on + 2]), secrets: [] };
    return { kind: 'unknown', st, secrets: [], why: 'a GRANT on an object other than a tablespace' };
  }
  if (to < 2) return { kind: 'unknown', st, secrets: [], why: 'a GRANT without TO' };
  let end = t.length;
  let grantor: string | undefined;
  const by = t.findIndex((x, i) => x.value === 'granted' && t[i + 1]?.value === 'by');
  if (by > to) {
    grantor = nameOf(t[by + 2]);
    if (!grantor || by + 3 !== t.length)
      return { kind: 'unknown', st, secrets: [], why: 'an unexpected GRANTED BY clause' };
    end = by;
  }
  const w = t.findIndex((x, i) => i > to && x.kind === 'word' && x.value === 'with');
  const membersEnd = w > 0 && w < end ? w : end;
  const granted = t.slice(1, to);
  const members = t.slice(to + 1, membersEnd);
  const listOk = (l: Token[]): boolean =>
    l.length > 0 && l.every((x, i) => (i % 2 === 0 ? nameOf(x) !== undefined : x.src === ','));
  if (!listOk(granted) || !listOk(members))
    return { kind: 'unknown', st, secrets: [], why: 'a GRANT whose role lists could not be read' };
  return {
    kind: 'grant-role',
    st,
    grant: { granted, members, withClause: t.slice(membersEnd, end), ...(grantor ? { grantor } : {}) },
    secrets: [],
  };
}

function classifyRole(st: Statement, t: Token[]): GlobalStatement {
  const name = nameOf(t[2]);
  const secrets = passwords(t);
  if (!name) return { kind: 'unknown', st, secrets, why: 'a role statement whose role name could not be read' };
  if (t[0]?.value === 'create') return { kind: 'create-role', st, name, secrets };
  const next = t[3];
  if (starts(t.slice(3), 'in', 'database') && ['set', 'reset'].includes(t[6]?.value ?? '')) {
    return { kind: 'role-setting', st, name, database: nameOf(t[5]), secrets };
  }
  if (next?.kind === 'word' && ['set', 'reset'].includes(next.value))
    return { kind: 'role-setting', st, name, secrets };
  if (next?.kind === 'word' && (next.value === 'with' || ROLE_OPTION.test(next.value)))
    return { kind: 'alter-role', st, name, secrets };
  return { kind: 'unknown', st, secrets, why: 'an ALTER ROLE other than WITH options, SET or RESET (e.g. RENAME)' };
}

/** Classifies one statement of pg_dumpall --globals-only output. */
export function classify(st: Statement): GlobalStatement {
  const t = st.tokens;
  const secrets = passwords(t);
  if (st.meta !== undefined) {
    return /^\\(un)?restrict(\s|$)/.test(st.meta)
      ? { kind: 'psql-restrict', st, secrets }
      : { kind: 'unknown', st, secrets, why: 'a psql meta-command' };
  }
  if (st.problem) return { kind: 'unknown', st, secrets, why: st.problem };
  if (
    starts(t, 'set') &&
    SAFE_SETTINGS.has(t[1]?.value ?? '') &&
    ['=', 'to'].includes(t[2]?.value ?? '') &&
    t.length === 4
  )
    return { kind: 'set', st, secrets };
  if (starts(t, 'create', 'role') || starts(t, 'alter', 'role')) return classifyRole(st, t);
  if (starts(t, 'comment', 'on', 'role') && t[4]?.value === 'is')
    return { kind: 'comment-role', st, name: nameOf(t[3]), secrets };
  if (starts(t, 'comment', 'on', 'tablespace')) return { kind: 'tablespace-detail', st, name: nameOf(t[3]), secrets };
  if (starts(t, 'security', 'label')) {
    const on = t.findIndex((x) => x.value === 'on');
    const what = t[on + 1]?.value;
    if (on > 0 && what === 'role') return { kind: 'label-role', st, name: nameOf(t[on + 2]), secrets };
    if (on > 0 && what === 'tablespace') return { kind: 'tablespace-detail', st, name: nameOf(t[on + 2]), secrets };
  }
  if (starts(t, 'create', 'tablespace')) return { kind: 'create-tablespace', st, name: nameOf(t[2]), secrets };
  if (starts(t, 'alter', 'tablespace')) return { kind: 'tablespace-detail', st, name: nameOf(t[2]), secrets };
  if (starts(t, 'grant')) return classifyGrant(st, t);
  if (starts(t, 'revoke') && t.some((x) => x.value === 'tablespace')) {
    const i = t.findIndex((x) => x.value === 'tablespace');
    return { kind: 'tablespace-detail', st, name: nameOf(t[i + 1]), secrets };
  }
  return {
    kind: 'unknown',
    st,
    secrets,
    why: 'not a statement pg_dumpall --globals-only writes for roles or tablespaces',
  };
}

export function parseGlobals(sql: string): GlobalStatement[] {
  return splitSql(sql).map(classify);
}

function statementSql(g: GlobalStatement): string {
  return g.st.text.endsWith(';') ? g.st.text : `${g.st.text};`;
}

/** The GRANT for the members that may change, without a GRANTED BY that the target could not honour. */
function grantSql(g: GlobalStatement, members: Token[], keepGrantor: boolean): string {
  const gr = g.grant!;
  const parts = ['GRANT', gr.granted.map((x) => x.src).join(''), 'TO', members.map((m) => m.src).join(', ')];
  if (gr.withClause.length)
    parts.push(
      gr.withClause
        .map((x) => x.src)
        .join(' ')
        .replace(/ ,/g, ','),
    );
  if (gr.grantor && keepGrantor) parts.push('GRANTED BY', quoteIdent(gr.grantor));
  return `${parts.join(' ')};`;
}

interface Decide {
  target: TargetGlobals;
  exists: Set<string>;
  /** Roles whose definitions are applied: new ones, and existing ones with --overwrite-roles. */
  applies: (role: string) => boolean;
  createdSet: Set<string>;
  notes: string[];
}

function roleStatement(g: GlobalStatement, d: Decide): string | undefined {
  if (g.kind === 'create-role') return d.createdSet.has(g.name!) ? statementSql(g) : undefined;
  if (g.kind === 'grant-role') {
    const members = g.grant!.members.filter((m, i) => i % 2 === 0 && d.applies(nameOf(m)!));
    const skipped = g.grant!.members.filter((m, i) => i % 2 === 0 && !d.applies(nameOf(m)!));
    const granted = g.grant!.granted.filter((_, i) => i % 2 === 0).map((x) => nameOf(x)!);
    for (const m of skipped)
      d.notes.push(
        `membership of existing role ${quoteIdent(nameOf(m)!)} in ${granted.map(quoteIdent).join(', ')} not added (the role is kept as it is)`,
      );
    if (!members.length) return undefined;
    const grantor = g.grant!.grantor;
    const keepGrantor =
      grantor !== undefined && d.target.superuser && (d.exists.has(grantor) || d.createdSet.has(grantor));
    return grantSql(g, members, keepGrantor);
  }
  if (!d.applies(g.name!)) return undefined;
  if (g.kind === 'role-setting' && g.database !== undefined && !d.target.databases.includes(g.database)) {
    d.notes.push(
      `setting of role ${quoteIdent(g.name!)} in database ${quoteIdent(g.database)} skipped: no such database on the target`,
    );
    return undefined;
  }
  return statementSql(g);
}

/**
 * Decides what to run: roles that exist on the target are kept as they are (unless overwriteRoles; the role igbackup
 * connects as is never overwritten, the restore needs it), new roles are created with their attributes, settings,
 * comments and memberships; existing tablespaces are kept, new ones created. Unknown statements are refused.
 */
export function planGlobals(sql: string, target: TargetGlobals, opts: { overwriteRoles: boolean }): GlobalsPlan {
  const all = parseGlobals(sql);
  const exists = new Set(target.roles);
  const backupRoles = [...new Set(all.filter((g) => g.kind === 'create-role').map((g) => g.name!))];
  const createdSet = new Set(backupRoles.filter((r) => !exists.has(r)));
  const overwritten = opts.overwriteRoles ? backupRoles.filter((r) => exists.has(r) && r !== target.user) : [];
  const overSet = new Set(overwritten);
  const notes: string[] = [];
  if (opts.overwriteRoles && exists.has(target.user) && backupRoles.includes(target.user)) {
    notes.push(
      `role ${quoteIdent(target.user)} is the one igbackup connects as: kept as it is even with --overwrite-roles`,
    );
  }
  const d: Decide = {
    target,
    exists,
    createdSet,
    notes,
    applies: (r) => createdSet.has(r) || overSet.has(r) || !exists.has(r),
  };
  const sets = all.filter((g) => g.kind === 'set').map(statementSql);
  const roleLines: string[] = [];
  const spaces = new Map<string, string[]>();
  const existingSpaces = new Set(target.tablespaces);
  for (const g of all) {
    if (['create-role', 'alter-role', 'role-setting', 'comment-role', 'label-role', 'grant-role'].includes(g.kind)) {
      const line = roleStatement(g, d);
      if (line) roleLines.push(line);
    } else if (g.kind === 'create-tablespace' || g.kind === 'tablespace-detail') {
      if (!g.name || existingSpaces.has(g.name)) continue;
      spaces.set(g.name, [...(spaces.get(g.name) ?? []), statementSql(g)]);
    }
  }
  const refused = all
    .filter((g) => g.kind === 'unknown')
    .map((g) => `${describeStatement(g.st)} (${g.why ?? 'not recognised'})`);
  const backupSpaces = [...new Set(all.filter((g) => g.kind === 'create-tablespace').map((g) => g.name!))];
  return {
    roleSql: roleLines.length ? ['BEGIN;', ...sets, ...roleLines, 'COMMIT;', ''].join('\n') : '',
    tablespaces: [...spaces].map(([name, lines]) => ({ name, sql: [...sets, ...lines, ''].join('\n') })),
    created: backupRoles.filter((r) => createdSet.has(r)),
    kept: backupRoles.filter((r) => exists.has(r) && !overSet.has(r)),
    overwritten,
    tablespacesKept: backupSpaces.filter((s) => existingSpaces.has(s)),
    refused,
    notes,
    secrets: [...new Set(all.flatMap((g) => g.secrets))],
  };
}

/** Replaces every secret in text (e.g. a server's error echoing a statement) by "***". */
export function redact(text: string, secrets: string[]): string {
  let out = text;
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) if (s.length >= 4) out = out.split(s).join('***');
  return out;
}
