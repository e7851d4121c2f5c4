// The globals planner on real pg_dumpall 15.18 output (test/fixtures/pg15-globals.sql) and on crafted hostile names.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseGlobals, planGlobals, redact, type TargetGlobals } from '../../../src/engines/postgres/globals.js';
import { splitSql } from '../../../src/engines/postgres/sql-lexer.js';

// Written by pg_dumpall 15.18 --globals-only on this machine's test server after creating: a role with password,
// CREATEDB, CONNECTION LIMIT, VALID UNTIL, a setting and a comment; a group; a role named `zz probe "q";x<newline>nl`;
// memberships (one WITH ADMIN OPTION); a tablespace named `zz ts;"x` with an option, a grant and a comment.
const REAL = readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'pg15-globals.sql'), 'utf8');
const HOSTILE = 'zz probe "q";x\nnl';

const empty: TargetGlobals = {
  roles: ['postgres'],
  tablespaces: ['pg_default', 'pg_global'],
  databases: ['postgres'],
  user: 'postgres',
  superuser: true,
};

describe('globals planner', () => {
  it('splits real pg_dumpall 15 output into statements, respecting quotes, "" escapes and comments', () => {
    const kinds = parseGlobals(REAL).map((g) => `${g.kind}:${g.name ?? ''}`);
    assert.deepEqual(kinds, [
      'psql-restrict:',
      'set:',
      'set:',
      'set:',
      'create-role:postgres',
      'alter-role:postgres',
      `create-role:${HOSTILE}`,
      `alter-role:${HOSTILE}`,
      'create-role:zz_probe_a',
      'alter-role:zz_probe_a',
      'comment-role:zz_probe_a',
      'create-role:zz_probe_grp',
      'alter-role:zz_probe_grp',
      'role-setting:zz_probe_a',
      'grant-role:',
      'grant-role:',
      'create-tablespace:zz ts;"x',
      'tablespace-detail:zz ts;"x',
      'tablespace-detail:zz ts;"x',
      'tablespace-detail:zz ts;"x',
      'psql-restrict:',
    ]);
  });

  it('into an empty server: creates every role with attributes, settings, comments, memberships, and the tablespace', () => {
    const p = planGlobals(REAL, empty, { overwriteRoles: false });
    assert.deepEqual(p.created, [HOSTILE, 'zz_probe_a', 'zz_probe_grp']);
    assert.deepEqual(p.kept, ['postgres']);
    assert.deepEqual(p.refused, []);
    assert.match(p.roleSql, /^BEGIN;\nSET default_transaction_read_only = off;\n/);
    assert.match(p.roleSql, /COMMIT;\n$/);
    assert.ok(!p.roleSql.includes('ALTER ROLE postgres'), 'the existing postgres role is left alone');
    assert.ok(p.roleSql.includes('CREATE ROLE "zz probe ""q"";x\nnl";'));
    assert.ok(p.roleSql.includes("COMMENT ON ROLE zz_probe_a IS 'it''s a -- comment; here';"));
    assert.ok(p.roleSql.includes("ALTER ROLE zz_probe_a SET work_mem TO '8MB';"));
    assert.ok(p.roleSql.includes('GRANT zz_probe_grp TO zz_probe_a WITH ADMIN OPTION GRANTED BY "postgres";'));
    assert.ok(!p.roleSql.includes('\\restrict'));
    assert.equal(p.tablespaces.length, 1);
    assert.equal(p.tablespaces[0]?.name, 'zz ts;"x');
    assert.match(
      p.tablespaces[0]!.sql,
      /CREATE TABLESPACE "zz ts;""x" OWNER zz_probe_a LOCATION '\/tmp\/zz_ts';\nALTER TABLESPACE/,
    );
    assert.ok(!p.tablespaces[0]!.sql.includes('BEGIN'));
    assert.equal(p.secrets.filter((s) => s.startsWith('SCRAM-SHA-256$')).length, 3);
  });

  it('keeps existing roles exactly: no ALTER, SET, COMMENT or membership for them; the tablespace is kept', () => {
    const target = {
      ...empty,
      roles: ['postgres', 'zz_probe_a', 'zz_probe_grp'],
      tablespaces: [...empty.tablespaces, 'zz ts;"x'],
    };
    const p = planGlobals(REAL, target, { overwriteRoles: false });
    assert.deepEqual(p.created, [HOSTILE]);
    assert.deepEqual(p.kept, ['postgres', 'zz_probe_a', 'zz_probe_grp']);
    assert.deepEqual(p.tablespacesKept, ['zz ts;"x']);
    assert.deepEqual(p.tablespaces, []);
    assert.ok(!/zz_probe_a (WITH|SET)|ON ROLE zz_probe_a|TO zz_probe_a/.test(p.roleSql), p.roleSql);
    assert.ok(
      p.roleSql.includes('GRANT zz_probe_grp TO "zz probe ""q"";x\nnl" GRANTED BY "postgres";'),
      'a new role gets its memberships',
    );
    assert.ok(p.notes.some((n) => n.includes('membership of existing role "zz_probe_a"')));
  });

  it('--overwrite-roles re-applies the backup to existing roles, but never to the role igbackup connects as', () => {
    const target = { ...empty, roles: ['postgres', 'zz_probe_a'] };
    const p = planGlobals(REAL, target, { overwriteRoles: true });
    assert.deepEqual(p.overwritten, ['zz_probe_a']);
    assert.deepEqual(p.kept, ['postgres']);
    assert.ok(!p.roleSql.includes('CREATE ROLE zz_probe_a;'));
    assert.match(p.roleSql, /ALTER ROLE zz_probe_a WITH .*CREATEDB LOGIN/);
    assert.ok(!p.roleSql.includes('ALTER ROLE postgres'));
    assert.ok(p.notes.some((n) => n.includes('igbackup connects as')));
  });

  it('a non-superuser connection drops GRANTED BY (PostgreSQL 15 allows it only to superusers)', () => {
    const p = planGlobals(
      REAL,
      { ...empty, user: 'restorer', superuser: false, roles: ['restorer', 'postgres'] },
      { overwriteRoles: false },
    );
    assert.ok(p.roleSql.includes('GRANT zz_probe_grp TO zz_probe_a WITH ADMIN OPTION;'));
    assert.ok(!p.roleSql.includes('GRANTED BY'));
  });

  it('hostile names: quotes, semicolons, newlines, comment markers and backslashes stay inside their quotes', () => {
    const sql = [
      `CREATE ROLE "a;b--c/*d";`,
      `ALTER ROLE "a;b--c/*d" WITH LOGIN PASSWORD 'pw'';DROP ROLE x;--';`,
      `CREATE ROLE "new\nline\\x";`,
      `COMMENT ON ROLE "new\nline\\x" IS $$dollar; quoted$$;`,
      `GRANT "a;b--c/*d" TO "new\nline\\x";`,
      '',
    ].join('\n');
    const st = splitSql(sql);
    assert.equal(st.length, 5);
    const p = planGlobals(sql, { ...empty, roles: ['postgres', 'a;b--c/*d'] }, { overwriteRoles: false });
    assert.deepEqual(p.created, ['new\nline\\x']);
    assert.deepEqual(p.kept, ['a;b--c/*d']);
    assert.deepEqual(p.refused, []);
    assert.ok(!p.roleSql.includes('PASSWORD'), 'the kept role password is not re-applied');
    assert.ok(p.roleSql.includes('GRANT "a;b--c/*d" TO "new\nline\\x";'));
    assert.ok(p.secrets.includes("pw';DROP ROLE x;--"));
  });

  it('refuses what it does not recognise: DROP ROLE, RENAME, psql meta-commands and variables, a missing ";"', () => {
    const cases: [string, RegExp][] = [
      ['DROP ROLE app;', /DROP ROLE app \(not a statement/],
      ['ALTER ROLE app RENAME TO other;', /RENAME/],
      ['\\! rm -rf /\n', /\\! \(a psql meta-command\)/],
      ['CREATE ROLE x \\gexec\n;', /meta-command/],
      ["ALTER ROLE x WITH PASSWORD :'pw';", /psql variable/],
      ['CREATE ROLE x', /no ";"/],
      ['SET ROLE postgres;', /SET ROLE postgres/],
      ['GRANT SELECT ON ALL TABLES IN SCHEMA public TO x;', /other than a tablespace/],
      ["CREATE ROLE \"unterminated;\nALTER ROLE y PASSWORD 'z';", /unterminated quoted identifier/],
    ];
    for (const [sql, why] of cases) {
      const p = planGlobals(sql, empty, { overwriteRoles: false });
      assert.equal(p.refused.length, 1, sql);
      assert.match(p.refused[0]!, why);
    }
  });

  it('never shows a password when it describes a refused statement; redact hides them in server messages', () => {
    const p = planGlobals("ALTER ROLE app WITH PASSWORD 'hunter2secret' RENAME;", empty, { overwriteRoles: false });
    assert.ok(!p.refused.join().includes('hunter2secret'));
    assert.equal(redact("LINE 1: ... PASSWORD 'hunter2secret'", p.secrets), 'LINE 1: ... PASSWORD ***');
  });

  it('skips a per-database setting of a new role when the database does not exist on the target', () => {
    const sql =
      "CREATE ROLE r;\nALTER ROLE r IN DATABASE gone SET work_mem TO '1MB';\nALTER ROLE r IN DATABASE postgres SET work_mem TO '2MB';\n";
    const p = planGlobals(sql, empty, { overwriteRoles: false });
    assert.ok(!p.roleSql.includes('gone'));
    assert.ok(p.roleSql.includes("IN DATABASE postgres SET work_mem TO '2MB'"));
    assert.ok(p.notes.some((n) => n.includes('"gone"')));
  });
});
