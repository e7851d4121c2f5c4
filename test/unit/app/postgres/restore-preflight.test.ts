// The PostgreSQL restore preflight's pure checks: privileges, ownership, connection limits, temp space.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { spaceShortage } from '../../../../src/app/disk-space.js';
import {
  parseRestoreFacts,
  restoreShortcomings,
  type RestoreFacts,
} from '../../../../src/app/postgres/restore-preflight.js';
import { ConfigError } from '../../../../src/domain/errors.js';

const ok: RestoreFacts = {
  user: 'restorer',
  superuser: false,
  createdb: true,
  createrole: false,
  connLimit: -1,
  serverVersionNum: 150008,
  maxConnections: 100,
  reservedConnections: 3,
  clientConnections: 10,
  roleConnections: 1,
  target: { owner: 'restorer', ownerPrivileges: true, template: false, roleSettings: 0, blockingSessions: [] },
  roles: ['restorer'],
  tablespaces: ['pg_default'],
  databases: ['app'],
};
const needs = { target: 'app', connections: 4, rolesToChange: 0 };

describe('restore preflight', () => {
  it('passes a role with CREATEDB that owns the target and has room for its jobs', () => {
    assert.equal(restoreShortcomings(ok, needs), undefined);
    assert.equal(restoreShortcomings({ ...ok, createdb: false, superuser: true, target: null }, needs), undefined);
  });

  it('names CREATEDB, ownership and CREATEROLE with the statements that fix them', () => {
    const e = restoreShortcomings(
      {
        ...ok,
        createdb: false,
        target: { owner: 'app_owner', ownerPrivileges: false, template: false, roleSettings: 0, blockingSessions: [] },
      },
      { ...needs, rolesToChange: 2 },
    );
    assert.ok(e instanceof ConfigError);
    assert.match(
      e.message,
      /^restore preflight: role "restorer" has no CREATEDB.*\(and 2 more problem\(s\)\); nothing was downloaded or changed$/,
    );
    assert.equal(e.problems.length, 3);
    assert.match(e.hint ?? '', /ALTER ROLE "restorer" CREATEDB;/);
    assert.match(
      e.hint ?? '',
      /ALTER DATABASE "app" OWNER TO "restorer"; or GRANT "app_owner" TO "restorer"; or restore next to it with --target-db/,
    );
    assert.match(e.hint ?? '', /ALTER ROLE "restorer" CREATEROLE;/);
  });

  it('counts the role limit without the preflight session itself, and the server slots minus the superuser reserve', () => {
    assert.equal(restoreShortcomings({ ...ok, connLimit: 4, roleConnections: 1 }, needs), undefined);
    const role = restoreShortcomings({ ...ok, connLimit: 4, roleConnections: 3 }, needs);
    assert.match(role?.message ?? '', /CONNECTION LIMIT 4 with 2 other session\(s\) open: pg_restore needs 4/);
    assert.match(role?.hint ?? '', /restore with --jobs 2, or run ALTER ROLE "restorer" CONNECTION LIMIT 6;/);
    // 100 - 3 reserved - 94 others = 3 free for a non-superuser; a superuser may use the reserve.
    const server = restoreShortcomings({ ...ok, clientConnections: 95 }, needs);
    assert.match(
      server?.message ?? '',
      /the server has 3 free connection\(s\) for this role \(max_connections 100, 3 reserved for superusers, 94 in use\): pg_restore needs 4/,
    );
    assert.match(server?.hint ?? '', /--jobs 3/);
    assert.equal(restoreShortcomings({ ...ok, superuser: true, clientConnections: 95 }, needs), undefined);
    const none = restoreShortcomings({ ...ok, clientConnections: 98 }, { ...needs, connections: 1 });
    assert.match(none?.hint ?? '', /end idle sessions, or raise max_connections/);
  });

  it('parses the JSON facts, names with quotes and newlines included, and rejects anything else', () => {
    const f = parseRestoreFacts(JSON.stringify({ ...ok, roles: ['a"b', 'new\nline'] }) + '\n');
    assert.deepEqual(f.roles, ['a"b', 'new\nline']);
    assert.throws(() => parseRestoreFacts(''), /no row/);
    assert.throws(() => parseRestoreFacts(JSON.stringify({ ...ok, createdb: 't' })), /unexpected answer/);
  });

  it('refuses a download that cannot fit in the temp dir, with the ways out', () => {
    const need = {
      base: '/small',
      neededBytes: 2 * 1024 ** 3,
      what: 'the decompressed archive',
      alternatives: ['restore with --jobs 1'],
    };
    assert.equal(spaceShortage(3 * 1024 ** 3, need), undefined);
    const e = spaceShortage(1024 ** 3, need);
    assert.ok(e instanceof ConfigError);
    assert.equal(
      e.message,
      'not enough space in /small for the decompressed archive: 2.0 GiB needed, 1.0 GiB free; nothing was downloaded',
    );
    assert.equal(e.hint, 'point --tmp-dir at a directory with at least 2.0 GiB free; or restore with --jobs 1');
  });
});
