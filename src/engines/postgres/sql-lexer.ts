// Splits SQL text (as pg_dumpall writes it) into statements of tokens, the way psql and the server read it (pure).

export interface Token {
  kind: 'word' | 'ident' | 'string' | 'number' | 'punct';
  /** The token as written in the source (quotes and escapes included). */
  src: string;
  /** word: lower-cased; ident: the name without quotes; string: the value without quotes; else src. */
  value: string;
}

export interface Statement {
  tokens: Token[];
  /** The statement's source text, from its first token to its terminating ";" (comments before it left out). */
  text: string;
  /** A psql meta-command line (e.g. "\restrict KEY"), which is not SQL. */
  meta?: string | undefined;
  /** Why psql would not read this as one plain SQL statement (a meta-command or a variable inside it, no ";"). */
  problem?: string | undefined;
}

const WORD_START = /[A-Za-z_\u0080-\uffff]/;
const WORD_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;

/** Reads a quoted run starting at `i` (the opening quote); a doubled quote is the quote itself. -1 if unterminated. */
function quoted(s: string, i: number, q: string, backslash = false): { end: number; value: string } {
  let value = '';
  for (let j = i + 1; j < s.length; j++) {
    const c = s[j] as string;
    if (backslash && c === '\\') {
      value += s[j + 1] ?? '';
      j++;
    } else if (c === q && s[j + 1] === q) {
      value += q;
      j++;
    } else if (c === q) {
      return { end: j + 1, value };
    } else {
      value += c;
    }
  }
  return { end: -1, value };
}

/** End of a nested /* *\/ comment starting at i, or -1. */
function blockCommentEnd(s: string, i: number): number {
  let depth = 0;
  for (let j = i; j < s.length - 1; j++) {
    if (s[j] === '/' && s[j + 1] === '*') {
      depth++;
      j++;
    } else if (s[j] === '*' && s[j + 1] === '/') {
      depth--;
      j++;
      if (depth === 0) return j + 1;
    }
  }
  return -1;
}

interface Scan {
  token?: Token;
  end: number;
  problem?: string;
}

/** One token (or a comment, which yields none) at i. */
function scanOne(s: string, i: number): Scan {
  const c = s[i] as string;
  const next = s[i + 1];
  if (c === '-' && next === '-') {
    const nl = s.indexOf('\n', i);
    return { end: nl < 0 ? s.length : nl + 1 };
  }
  if (c === '/' && next === '*') {
    const end = blockCommentEnd(s, i);
    return end < 0 ? { end: s.length, problem: 'unterminated /* comment' } : { end };
  }
  if (c === "'" || c === '"') {
    const q = quoted(s, i, c);
    if (q.end < 0)
      return { end: s.length, problem: `unterminated ${c === '"' ? 'quoted identifier' : 'string literal'}` };
    return { end: q.end, token: { kind: c === '"' ? 'ident' : 'string', src: s.slice(i, q.end), value: q.value } };
  }
  if ((c === 'E' || c === 'e') && next === "'") {
    const q = quoted(s, i + 1, "'", true);
    if (q.end < 0) return { end: s.length, problem: 'unterminated string literal' };
    return { end: q.end, token: { kind: 'string', src: s.slice(i, q.end), value: q.value } };
  }
  if (c === '$') {
    const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(s.slice(i, i + 70))?.[0];
    if (tag) {
      const close = s.indexOf(tag, i + tag.length);
      if (close < 0) return { end: s.length, problem: 'unterminated dollar-quoted string' };
      const end = close + tag.length;
      return { end, token: { kind: 'string', src: s.slice(i, end), value: s.slice(i + tag.length, close) } };
    }
  }
  if (WORD_START.test(c)) {
    let j = i + 1;
    while (j < s.length && WORD_CHAR.test(s[j] as string)) j++;
    const src = s.slice(i, j);
    return { end: j, token: { kind: 'word', src, value: src.toLowerCase() } };
  }
  if (/[0-9]/.test(c)) {
    const src = /^[0-9]+(\.[0-9]+)?/.exec(s.slice(i))?.[0] ?? c;
    return { end: i + src.length, token: { kind: 'number', src, value: src } };
  }
  if (c === '\\') return { end: i + 1, problem: 'a psql meta-command (backslash) inside a statement' };
  if (c === ':' && next !== undefined && /[A-Za-z_'"{]/.test(next))
    return { end: i + 1, problem: 'a psql variable (:name) inside a statement' };
  return { end: i + 1, token: { kind: 'punct', src: c, value: c } };
}

/** Splits SQL into statements at ";" outside quotes and comments; psql meta-command lines become their own entries. */
export function splitSql(s: string): Statement[] {
  const out: Statement[] = [];
  let tokens: Token[] = [];
  let start = -1;
  let problem: string | undefined;
  const finish = (end: number, why?: string): void => {
    out.push({ tokens, text: s.slice(start, end), ...((problem ?? why) ? { problem: problem ?? why } : {}) });
    tokens = [];
    start = -1;
    problem = undefined;
  };
  let i = 0;
  while (i < s.length) {
    const c = s[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '\\' && tokens.length === 0) {
      const nl = s.indexOf('\n', i);
      const end = nl < 0 ? s.length : nl;
      out.push({ tokens: [], text: s.slice(i, end), meta: s.slice(i, end).trim() });
      i = end;
      continue;
    }
    if (c === ';') {
      if (tokens.length || problem) finish(i + 1);
      i++;
      continue;
    }
    const r = scanOne(s, i);
    if (r.problem) problem ??= r.problem;
    if (r.token || r.problem) {
      if (start < 0) start = i;
      if (r.token) tokens.push(r.token);
    }
    i = r.end;
  }
  if (tokens.length || problem) finish(s.length, 'no ";" at the end (psql would run it at the end of the input)');
  return out;
}

/** A statement's shape for messages: its words, with every string literal (passwords, comments) shown as '…'. */
export function describeStatement(st: Statement, maxTokens = 8): string {
  if (st.meta !== undefined) return st.meta.split(/\s+/)[0] ?? '\\';
  const words = st.tokens.slice(0, maxTokens).map((t) => (t.kind === 'string' ? "'…'" : t.src.replace(/\n/g, '\\n')));
  return words.join(' ') + (st.tokens.length > maxTokens ? ' …' : '');
}
