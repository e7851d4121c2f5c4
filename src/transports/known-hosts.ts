// Host key checking for SSH: OpenSSH known_hosts (plain, hashed and [host]:port entries) or a pinned fingerprint.

import { createHash, createHmac } from 'node:crypto';

export interface HostKeyEntry {
  keyType: string;
  /** base64 of the SSH wire-format public key blob. */
  key: string;
  revoked: boolean;
}

/** SHA256:<base64 without padding>, as ssh-keygen -lf prints it. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type inside a wire-format key blob (e.g. "ssh-ed25519"). */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const len = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + len).toString('latin1');
}

/** How a host appears in known_hosts: "host" for port 22, "[host]:port" otherwise. */
export function hostPattern(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function matchesName(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return mac === hash;
  }
  let matched = false;
  for (const pat of field.split(',')) {
    const negated = pat.startsWith('!');
    const p = negated ? pat.slice(1) : pat;
    const re = new RegExp(
      `^${p
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    );
    if (re.test(name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** Entries of a known_hosts text that apply to host:port. @cert-authority lines are not supported and skipped. */
export function knownHostEntries(text: string, host: string, port: number): HostKeyEntry[] {
  const name = hostPattern(host, port);
  const out: HostKeyEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const parts = line.split(/\s+/);
    let revoked = false;
    if (parts[0]?.startsWith('@')) {
      if (parts[0] === '@revoked') revoked = true;
      else continue;
      parts.shift();
    }
    const [names, keyType, key] = parts;
    if (!names || !keyType || !key) continue;
    if (matchesName(names, name)) out.push({ keyType, key, revoked });
  }
  return out;
}

export type HostKeyVerdict = { ok: true } | { ok: false; reason: string };

/** Decides whether the presented key is acceptable; the reason tells the operator what to do. */
export function checkHostKey(opts: {
  keyBlob: Buffer;
  host: string;
  port: number;
  pinned?: string | undefined;
  knownHostsText?: string | undefined;
  knownHostsPath: string;
}): HostKeyVerdict {
  const fp = fingerprint(opts.keyBlob);
  const type = keyTypeOf(opts.keyBlob);
  const where = hostPattern(opts.host, opts.port);
  const howToPin = `pin it with "hostKeyFingerprint: ${fp}" in the transport config, or add it to ${opts.knownHostsPath} (ssh-keyscan -p ${opts.port} ${opts.host}) after checking it out of band`;
  if (opts.pinned) {
    if (fp === opts.pinned) return { ok: true };
    return {
      ok: false,
      reason: `host key of ${where} is ${type} ${fp}, but the config pins ${opts.pinned}: the key CHANGED or this is another host; refusing to connect`,
    };
  }
  const entries = knownHostEntries(opts.knownHostsText ?? '', opts.host, opts.port);
  const b64 = opts.keyBlob.toString('base64');
  if (entries.some((e) => e.revoked && e.key === b64)) {
    return {
      ok: false,
      reason: `host key ${fp} of ${where} is marked @revoked in ${opts.knownHostsPath}; refusing to connect`,
    };
  }
  if (entries.some((e) => !e.revoked && e.key === b64)) return { ok: true };
  if (entries.some((e) => !e.revoked)) {
    return {
      ok: false,
      reason: `host key of ${where} CHANGED: it presents ${type} ${fp}, which does not match ${opts.knownHostsPath}; refusing to connect (possible man-in-the-middle). If the change is expected, update known_hosts or ${howToPin.replace(/^pin it with/, 'pin the new key with')}`,
    };
  }
  return {
    ok: false,
    reason: `host key of ${where} is unknown (${type} ${fp}); refusing to connect. To trust it, ${howToPin}`,
  };
}

/** Host key algorithms to ask for so the server presents a key type we know (rsa keys sign with sha2 too). */
export function hostKeyAlgorithms(entries: HostKeyEntry[]): string[] {
  const algs = new Set<string>();
  for (const e of entries) {
    if (e.revoked) continue;
    if (e.keyType === 'ssh-rsa') ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'].forEach((a) => algs.add(a));
    else algs.add(e.keyType);
  }
  return [...algs];
}
