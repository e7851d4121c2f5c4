// The commands of Neo4j's method tar, run for real with sh and tar on a temp directory: moving a data directory's
// entries aside and back (dot files, a stale put-aside folder left alone), archiving without put-aside folders,
// unpacking; and the pure parsers.

import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import * as neo4j from '../../../src/engines/neo4j/commands.js';
import { tempDir } from '../../helpers/cli.js';

const run = (c: { argv: string[] }, input?: Buffer) =>
  execa(c.argv[0] as string, c.argv.slice(1), { input, encoding: 'buffer', reject: false });

async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(join(d, e.name), r);
      else out.push(`${r}=${await readFile(join(d, e.name), 'utf8')}`);
    }
  };
  await walk(dir, '');
  return out.sort();
}

describe('neo4j method tar commands', () => {
  it('move aside, unpack, move back: the data directory is as it was; a stale put-aside folder is never touched', async () => {
    const data = join(await tempDir(), 'data');
    await mkdir(join(data, 'databases', 'neo4j'), { recursive: true });
    await mkdir(join(data, 'databases', 'system'), { recursive: true });
    await writeFile(join(data, 'databases', 'neo4j', 'store'), 'old-neo4j');
    await writeFile(join(data, 'databases', 'system', 'store'), 'old-system');
    await writeFile(join(data, '.dotfile'), 'dot');
    await mkdir(join(data, '.igbackup-previous-stale'));
    await writeFile(join(data, '.igbackup-previous-stale', 'x'), 'stale');
    const before = await tree(data);

    const archive = await run(neo4j.tarCreateCommand(data));
    assert.equal(archive.exitCode, 0, Buffer.from(archive.stderr as Uint8Array).toString());
    const listed = await execa('tar', ['-t', '-f', '-'], { input: archive.stdout as Buffer });
    assert.doesNotMatch(listed.stdout, /igbackup-previous/, 'put-aside folders are never archived');
    assert.match(listed.stdout, /databases\/neo4j\/store/);
    assert.match(listed.stdout, /\.dotfile/);

    const aside = '.igbackup-previous-20261127T200000Z';
    assert.equal((await run(neo4j.moveAsideCommand(data, aside))).exitCode, 0);
    assert.deepEqual((await readdir(data)).sort(), ['.igbackup-previous-20261127T200000Z', '.igbackup-previous-stale']);
    assert.deepEqual(
      (await readdir(join(data, aside))).sort(),
      ['.dotfile', '.igbackup-entries', 'databases'],
      'every entry, dot files included, is moved (and listed)',
    );

    // Something else unpacked (a different store), then undone; the move back interrupted after one entry and run
    // again (as the manual command printed after a failure would be) still ends with the tree as it was.
    await writeFile(join(data, 'new-file'), 'new');
    await mkdir(join(data, 'databases'));
    await writeFile(join(data, '.dotfile'), 'unpacked dot');
    await rename(join(data, aside, 'databases'), join(data, 'databases-back'));
    await rm(join(data, 'databases'), { recursive: true });
    await rename(join(data, 'databases-back'), join(data, 'databases')); // "databases" already moved back
    assert.equal((await run(neo4j.moveBackCommand(data, aside))).exitCode, 0);
    assert.deepEqual(await tree(data), before);
    assert.notEqual((await run(neo4j.moveBackCommand(data, aside))).exitCode, 0, 'nothing left to move back');
    assert.deepEqual(await tree(data), before);

    // Unpacking the archive over an emptied data directory gives the same tree.
    assert.equal((await run(neo4j.moveAsideCommand(data, aside))).exitCode, 0);
    const unpacked = await run(neo4j.unpackCommand(data), archive.stdout as Buffer);
    assert.equal(unpacked.exitCode, 0, Buffer.from(unpacked.stderr as Uint8Array).toString());
    assert.equal(await readFile(join(data, 'databases', 'neo4j', 'store'), 'utf8'), 'old-neo4j');
    assert.equal(await readFile(join(data, '.dotfile'), 'utf8'), 'dot');
  });

  it('a short archive fails to unpack (non-zero), and the databases are listed from the store', async () => {
    const data = join(await tempDir(), 'data');
    await mkdir(join(data, 'databases', 'neo4j'), { recursive: true });
    await mkdir(join(data, 'databases', 'system'), { recursive: true });
    await writeFile(join(data, 'databases', 'neo4j', 'store'), Buffer.alloc(100_000, 7));
    await writeFile(join(data, 'databases', 'store_lock'), '');
    await mkdir(join(data, 'transactions', 'neo4j'), { recursive: true });
    const text = async () =>
      Buffer.from((await run(neo4j.listStoreDatabasesCommand(data))).stdout as Uint8Array).toString();
    assert.deepEqual((await text()).trim().split('\n'), ['databases/neo4j', 'databases/system', 'transactions/neo4j']);
    assert.match(
      (neo4j.judgeStoreListing(await text()) as { problem: string }).problem,
      /the transaction logs of system are not under transactions\/ .*a tar of this directory would miss them/,
    );
    await mkdir(join(data, 'transactions', 'system'));
    assert.deepEqual(neo4j.judgeStoreListing(await text()), { databases: ['neo4j', 'system'] });
    assert.match((neo4j.judgeStoreListing('databases/neo4j\n') as { problem: string }).problem, /no databases\/system/);
    const missing = await run(neo4j.listStoreDatabasesCommand(join(data, 'nope')));
    assert.deepEqual([missing.exitCode, Buffer.from(missing.stdout as Uint8Array).toString()], [0, '']);

    const archive = (await run(neo4j.tarCreateCommand(data))).stdout as Buffer;
    const target = join(await tempDir(), 'data');
    await mkdir(target);
    const cut = await run(neo4j.unpackCommand(target), archive.subarray(0, 50_000));
    assert.notEqual(cut.exitCode, 0, 'a short archive is an error, never a partial success');
  });

  it('parses df -Pk and neo4j-admin --version; reads the databases of a manifest', () => {
    assert.equal(neo4j.parseFreeKib('/dev/sda1        102400  51200  40960      56% /var/lib/neo4j\n'), 40960);
    assert.equal(neo4j.parseFreeKib('garbage'), undefined);
    assert.equal(neo4j.adminVersionOf('5.26.12\n'), '5.26.12');
    assert.deepEqual(neo4j.storeDatabases({ tools: { databases: 'neo4j,system' } }), ['neo4j', 'system']);
    assert.deepEqual(neo4j.storeDatabases({ tools: {} }), ['system']);
  });

  it('an entry that cannot move (a mount point inside, say) puts the others back: exit 1, nothing changed; exit 2 when even that fails', async () => {
    const data = join(await tempDir(), 'data');
    for (const d of ['databases/neo4j', 'dbms', 'transactions/neo4j']) await mkdir(join(data, d), { recursive: true });
    await writeFile(join(data, 'databases', 'neo4j', 'store'), 'neo4j');
    await writeFile(join(data, 'server_id'), 'id');
    const before = await tree(data);
    // An mv that refuses to move "transactions" (as a mount point refuses: EBUSY), and with MV_BACK_FAILS, anything
    // back out of the aside folder.
    const bin = join(await tempDir(), 'bin');
    await mkdir(bin);
    await writeFile(
      join(bin, 'mv'),
      [
        '#!/bin/sh',
        'for a in "$@"; do last="$a"; done',
        'case "$*" in *" transactions "*) echo "mv: cannot move \'transactions\': Device or resource busy" >&2; exit 1;; esac',
        'case "$*" in *.igbackup-previous-*/*" ./"*) [ -n "$MV_BACK_FAILS" ] && { echo "mv: refused" >&2; exit 1; };; esac',
        'exec /bin/mv "$@"',
      ].join('\n'),
      { mode: 0o755 },
    );
    const c = neo4j.moveAsideCommand(data, '.igbackup-previous-x');
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const r = await execa(c.argv[0] as string, c.argv.slice(1), { env, reject: false });
    assert.equal(r.exitCode, 1, r.stderr);
    assert.match(r.stderr, /Device or resource busy/);
    assert.deepEqual(await tree(data), before, 'every entry back where it was, no aside folder');
    assert.ok(!(await readdir(data)).includes('.igbackup-previous-x'), 'the aside folder is gone');
    const r2 = await execa(c.argv[0] as string, c.argv.slice(1), {
      env: { ...env, MV_BACK_FAILS: '1' },
      reject: false,
    });
    assert.equal(r2.exitCode, 2, r2.stderr);
    assert.ok(
      (await readdir(data)).includes('.igbackup-previous-x'),
      'the moved entries stay listed in the aside folder',
    );
    assert.equal((await run(neo4j.moveBackCommand(data, '.igbackup-previous-x'))).exitCode, 0);
    assert.deepEqual(await tree(data), before, 'the printed move back puts them back');
  });
});
