// Opens the transport an engine target is configured with, resolving key files and secrets by reference.

import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { SshHopConfig, TransportConfig } from '../config/schema.js';
import { resolveSecret } from '../config/secrets.js';
import { ConfigError } from '../domain/errors.js';
import { KubernetesTransport } from '../transports/kubernetes.js';
import { SshTransport, type ResolvedHop } from '../transports/ssh.js';
import type { Transport } from '../transports/transport.js';
import type { AppContext } from './context.js';

export async function openTransport(ctx: AppContext, cfg: TransportConfig, where: string): Promise<Transport> {
  switch (cfg.type) {
    case 'local':
      return ctx.runner;
    case 'kubernetes':
      return new KubernetesTransport(
        { ...cfg, ...(cfg.kubeconfig ? { kubeconfig: resolve(ctx.configDir, cfg.kubeconfig) } : {}) },
        ctx.signal,
      );
    case 'ssh': {
      const hop = await resolveHop(ctx, cfg, `${where}.transport`);
      const jump = cfg.jump ? await resolveHop(ctx, cfg.jump, `${where}.transport.jump`) : undefined;
      return new SshTransport(
        {
          ...hop,
          jump,
          keepaliveIntervalSec: cfg.keepaliveIntervalSec,
          keepaliveCountMax: cfg.keepaliveCountMax,
          connectTimeoutSec: cfg.connectTimeoutSec,
          idleTimeoutSec: cfg.idleTimeoutSec,
        },
        ctx.signal,
      );
    }
  }
}

async function resolveHop(ctx: AppContext, hop: SshHopConfig, where: string): Promise<ResolvedHop> {
  const home = ctx.environ.HOME ?? homedir();
  let privateKey: Buffer | undefined;
  if (hop.identityFile) {
    const path = resolve(ctx.configDir, hop.identityFile.replace(/^~(?=\/)/, home));
    try {
      privateKey = await readFile(path);
    } catch (err) {
      throw new ConfigError(`${where}.identityFile: cannot read ${path}: ${(err as Error).message}`, [], {
        hint: 'point identityFile at a private key readable by this user, or use the ssh-agent (agent: true)',
      });
    }
  }
  const passphrase = hop.passphrase
    ? await resolveSecret(hop.passphrase, ctx.environ, `${where}.passphrase`)
    : undefined;
  if (passphrase) ctx.secrets.add(passphrase);
  const useAgent = hop.agent ?? !privateKey;
  const agentSocket = useAgent ? ctx.environ.SSH_AUTH_SOCK : undefined;
  if (!privateKey && !agentSocket) {
    throw new ConfigError(`${where}: no way to authenticate to ${hop.host}`, [], {
      hint: 'set identityFile (and passphrase by reference), or run an ssh-agent ($SSH_AUTH_SOCK) with agent: true',
    });
  }
  const knownHostsPath = hop.knownHosts
    ? resolve(ctx.configDir, hop.knownHosts.replace(/^~(?=\/)/, home))
    : join(home, '.ssh', 'known_hosts');
  const { identityFile: _i, passphrase: _p, knownHosts: _k, ...rest } = hop;
  return { ...rest, privateKey, passphrase, agentSocket, knownHostsPath };
}

/** How long a backup producer may write nothing before it is killed, where the transport does not watch itself. */
export function producerIdleMs(t: TransportConfig): number | undefined {
  return t.type === 'local' ? (t.idleTimeoutSec ?? 600) * 1000 : undefined;
}
