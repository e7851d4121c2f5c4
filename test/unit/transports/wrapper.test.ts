// The remote wrapper under dash (Debian's /bin/sh) and busybox sh (Alpine-style), quoting, trailers, host keys, pods.

import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { execa } from 'execa';
import { IntegrityError } from '../../../src/domain/errors.js';
import {
  checkTrailer,
  envHeader,
  parseTrailer,
  shJoin,
  shQuote,
  wrappedArgv,
} from '../../../src/transports/wrapper.js';
import { checkHostKey, fingerprint, hostKeyAlgorithms, knownHostEntries } from '../../../src/transports/known-hosts.js';
import { choosePod } from '../../../src/transports/kubernetes.js';
import { scratchDir } from '../../helpers/tmp.js';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const HOSTILE = [
  `it's`,
  `a b`,
  `$(touch /tmp/igb-x)`,
  '`id`',
  `"q"`,
  `;rm -rf /`,
  `back\\slash`,
  `*`,
  '',
  `new\nline`,
  `$HOME`,
];

type Shell = { name: string; sh: string; path: string };

/**
 * The shells to prove the wrapper in: dash (Debian's /bin/sh) and busybox sh with only busybox applets on PATH
 * (Alpine-style). Both are required: scripts/test.sh installs busybox (as root); without it this fails, saying so.
 */
async function shells(): Promise<Shell[]> {
  const dash = ['/bin/dash', '/usr/bin/dash'].find((p) => existsSync(p));
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
  const missing = [dash ? '' : 'dash', busybox ? '' : 'busybox'].filter(Boolean);
  if (!dash || !busybox) {
    throw new Error(
      `${missing.join(' and ')} not installed: the remote wrapper cannot be proven without it (scripts/test.sh installs busybox when run as root; else apt-get install ${missing.join(' ')})`,
    );
  }
  const dir = await scratchDir('igb-bb-');
  for (const t of ['sh', 'mkfifo', 'mktemp', 'tee', 'sha256sum', 'wc', 'cat', 'cut', 'tr', 'rm', 'head', 'printf']) {
    await symlink(busybox, join(dir, t));
  }
  const version = await execa(busybox, [], { reject: false });
  if (!/^BusyBox v/.test(String(version.stdout)))
    throw new Error(`${busybox} is not a busybox binary: ${version.stdout} ${version.stderr}`);
  return [
    { name: 'dash', sh: dash, path: process.env.PATH ?? '' },
    { name: 'busybox', sh: join(dir, 'sh'), path: dir },
  ];
}

describe('remote wrapper in dash and busybox sh', () => {
  let list: Shell[] = [];
  before(async () => {
    list = await shells();
  });

  it("every hostile word comes back byte for byte: quoted, as the wrapped command's argv, and as a header value", async () => {
    assert.deepEqual(
      list.map((s) => s.name),
      ['dash', 'busybox'],
    );
    const canary = join(await scratchDir('igb-canary-'), 'x');
    const words = [...HOSTILE, `$(touch ${canary})`, `\`touch ${canary}\``];
    for (const s of list) {
      const run = (args: string[], input = '') =>
        execa(s.sh, args, { env: { PATH: s.path }, input, reject: false, stripFinalNewline: false });
      for (const word of words) {
        const r = await run(['-c', `printf %s ${shQuote(word)}`]);
        assert.equal(r.stdout, word, `${s.name}: ${JSON.stringify(word)}`);
      }
      const joined = await run(['-c', `printf '[%s]' ${shJoin(words)}`]);
      assert.equal(joined.stdout, words.map((w) => `[${w}]`).join(''), s.name);
      // Through the wrapper, as a remote command runs: words in argv, values (one line each) in the stdin header.
      const wrapped = await run(wrappedArgv(['printf', '[%s]', ...words], 'out').slice(1), envHeader({}));
      assert.equal(wrapped.exitCode, 0, `${s.name}: ${wrapped.stderr}`);
      assert.equal(wrapped.stdout, words.map((w) => `[${w}]`).join(''), s.name);
      const oneLine = words.filter((w) => !w.includes('\n'));
      const env = Object.fromEntries(oneLine.map((w, i) => [`V${i}`, w]));
      const script = oneLine.map((_, i) => `printf '[%s]' "$V${i}"`).join('; ');
      const fromEnv = await run(wrappedArgv(['sh', '-c', script], 'out').slice(1), envHeader(env));
      assert.equal(fromEnv.exitCode, 0, `${s.name}: ${fromEnv.stderr}`);
      assert.equal(fromEnv.stdout, oneLine.map((w) => `[${w}]`).join(''), s.name);
    }
    assert.equal(existsSync(canary), false, 'a word was executed');
    assert.equal(existsSync('/tmp/igb-x'), false, 'a word was executed');
  });

  it('out: passes stdout through unchanged, reports rc, bytes and sha256, takes env from the header', async () => {
    for (const s of list) {
      const data = randomBytes(300_000).toString('base64');
      const file = join(await scratchDir('igb-data-'), 'data');
      await writeFile(file, data);
      const argv = wrappedArgv(['sh', '-c', 'cat "$DATA_FILE"; echo "[$SECRET]" >&2; exit 4'], 'out');
      const r = await execa(s.sh, argv.slice(1), {
        input: envHeader({ DATA_FILE: file, SECRET: `p@ss 'w"$(x)` }),
        env: { PATH: s.path },
        reject: false,
        stripFinalNewline: false,
      });
      assert.equal(r.exitCode, 4, `${s.name}: ${r.stderr}`);
      assert.equal(r.stdout, data, s.name);
      const { trailer, rest } = parseTrailer(String(r.stderr));
      assert.deepEqual(trailer, { rc: 4, bytes: data.length, sha256: sha(data) }, s.name);
      assert.match(rest, /\[p@ss 'w"\$\(x\)\]/);
    }
  });

  it('in: the consumer gets the stream after the header, and the trailer covers what it read', async () => {
    for (const s of list) {
      const data = randomBytes(200_000);
      const argv = wrappedArgv(['sh', '-c', 'cat > /dev/null; echo "$MODE"'], 'in');
      const r = await execa(s.sh, argv.slice(1), {
        input: Buffer.concat([Buffer.from(envHeader({ MODE: 'restore' })), data]),
        env: { PATH: s.path },
        reject: false,
        encoding: 'buffer',
      });
      assert.equal(r.exitCode, 0, s.name);
      assert.equal(Buffer.from(r.stdout).toString().trim(), 'restore');
      assert.deepEqual(
        parseTrailer(Buffer.from(r.stderr).toString()).trailer,
        { rc: 0, bytes: data.length, sha256: sha(data) },
        s.name,
      );
    }
  });

  it('names a missing tool and exits 127', async () => {
    const bb = list.find((s) => s.name === 'busybox');
    assert.ok(bb);
    const dir = await scratchDir('igb-nosha-');
    for (const t of ['sh', 'mkfifo', 'mktemp', 'tee', 'wc', 'cat', 'cut', 'tr', 'rm'])
      await symlink(join(bb.path, t), join(dir, t));
    const r = await execa(join(dir, 'sh'), wrappedArgv(['true'], 'out').slice(1), {
      input: envHeader({}),
      env: { PATH: dir },
      reject: false,
    });
    assert.equal(r.exitCode, 127);
    assert.match(String(r.stderr), /'sha256sum' is missing on the remote side/);
  });

  it('refuses header values that cannot travel on one line', () => {
    assert.throws(() => envHeader({ A: 'x\ny' }), /line break/);
    assert.throws(() => envHeader({ 'A-B': 'x' }), /invalid environment variable name/);
  });
});

describe('trailer checks', () => {
  const good = { bytes: 5, sha256: sha('hello') };
  it('accepts a matching trailer and rejects a missing or different one', () => {
    checkTrailer({ rc: 0, ...good }, good, 'pod x', 'out');
    assert.throws(
      () => checkTrailer(undefined, good, 'pod x', 'out'),
      (e: Error) => e instanceof IntegrityError && /no integrity trailer/.test(e.message),
    );
    assert.throws(
      () => checkTrailer({ rc: 0, bytes: 6, sha256: good.sha256 }, good, 'pod x', 'out'),
      /incomplete or altered/,
    );
  });
  it('parses the last trailer and strips it from stderr', () => {
    const t = parseTrailer(
      `warn\nIGBACKUP-TRAILER/1 rc=0 bytes=1 sha256=${'a'.repeat(64)}\nIGBACKUP-TRAILER/1 rc=2 bytes=5 sha256=${good.sha256}\ncommand terminated with exit code 2\n`,
    );
    assert.deepEqual(t.trailer, { rc: 2, ...good });
    assert.match(t.rest, /command terminated/);
  });
});

describe('host keys', () => {
  const blob = Buffer.concat([
    Buffer.from([0, 0, 0, 11]),
    Buffer.from('ssh-ed25519'),
    Buffer.from([0, 0, 0, 32]),
    randomBytes(32),
  ]);
  const b64 = blob.toString('base64');
  const hashed = (name: string): string => {
    const salt = randomBytes(20);
    return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
  };
  const base = { keyBlob: blob, host: 'db1.example', port: 2222, knownHostsPath: '/k' };

  it('accepts plain, hashed and wildcard entries with [host]:port', () => {
    for (const text of [
      `[db1.example]:2222 ssh-ed25519 ${b64}`,
      `${hashed('[db1.example]:2222')} ssh-ed25519 ${b64}`,
      `[db1.*]:2222,other ssh-ed25519 ${b64}`,
    ]) {
      assert.deepEqual(checkHostKey({ ...base, knownHostsText: text }), { ok: true }, text);
    }
  });

  it('refuses unknown (with fingerprint and pin hint), changed and revoked keys', () => {
    const unknown = checkHostKey({ ...base, knownHostsText: 'other ssh-ed25519 AAAA' });
    assert.ok(!unknown.ok && unknown.reason.includes(fingerprint(blob)) && /hostKeyFingerprint/.test(unknown.reason));
    const changed = checkHostKey({
      ...base,
      knownHostsText: `[db1.example]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherKey`,
    });
    assert.ok(!changed.ok && /CHANGED/.test(changed.reason));
    const revoked = checkHostKey({ ...base, knownHostsText: `@revoked [db1.example]:2222 ssh-ed25519 ${b64}` });
    assert.ok(!revoked.ok && /revoked/.test(revoked.reason));
    assert.deepEqual(checkHostKey({ ...base, pinned: fingerprint(blob) }), { ok: true });
    assert.ok(!checkHostKey({ ...base, pinned: 'SHA256:' + 'B'.repeat(43) }).ok);
  });

  it('asks the server for the key types known_hosts holds', () => {
    const entries = knownHostEntries(`db ssh-rsa AAAA\ndb ecdsa-sha2-nistp256 AAAA`, 'db', 22);
    assert.deepEqual(hostKeyAlgorithms(entries), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa', 'ecdsa-sha2-nistp256']);
  });
});

describe('pod choice', () => {
  const pod = (name: string, labels: Record<string, string>, phase = 'Running', ready = 'True', deleting = false) => ({
    metadata: { name, labels, ...(deleting ? { deletionTimestamp: 'x' } : {}) },
    status: { phase, conditions: [{ type: 'Ready', status: ready }] },
  });
  it('takes a Running, Ready, not terminating pod; the primary when a role label is configured', () => {
    const items = [
      pod('a', { role: 'replica' }),
      pod('b', { role: 'primary' }, 'Pending'),
      pod('c', { role: 'primary' }),
      pod('d', { role: 'primary' }, 'Running', 'True', true),
    ];
    assert.equal(choosePod(items), 'a');
    assert.equal(choosePod(items, 'role=primary'), 'c');
    assert.equal(choosePod([pod('x', {}, 'Running', 'False')]), undefined);
  });
});
