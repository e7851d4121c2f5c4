// SSH transport (ssh2, no ssh binary): verified host keys, key or agent auth, optional jump host, keepalives;
// commands run inside the trailer wrapper with secrets on stdin.

import { TransportError } from '../domain/errors.js';
import { readFile } from 'node:fs/promises';
import type { Client, ClientChannel, ConnectConfig } from 'ssh2';
import type { SshHopConfig } from '../config/schema.js';
import { checkHostKey, hostKeyAlgorithms, knownHostEntries } from './known-hosts.js';
import { remoteCommand, type Channel } from './remote.js';
import type { CommandSpec, RunningCommand, Transport } from './transport.js';
import { shJoin, wrappedArgv } from './wrapper.js';

/** An SSH hop with everything resolved: key material read, passphrase resolved, known_hosts path chosen. */
export interface ResolvedHop extends Omit<SshHopConfig, 'passphrase' | 'identityFile' | 'knownHosts'> {
  privateKey?: Buffer | undefined;
  passphrase?: string | undefined;
  agentSocket?: string | undefined;
  knownHostsPath: string;
}

export interface ResolvedSsh extends ResolvedHop {
  jump?: ResolvedHop | undefined;
  keepaliveIntervalSec: number;
  keepaliveCountMax: number;
  connectTimeoutSec: number;
  idleTimeoutSec: number;
}

export class SshTransport implements Transport {
  readonly kind = 'ssh';
  readonly host: string;
  private client: Promise<Client> | undefined;
  private readonly clients: Client[] = [];

  /** `signal`: the run's cancellation; commands running when it aborts are ended. */
  constructor(
    private readonly cfg: ResolvedSsh,
    private readonly signal?: AbortSignal,
  ) {
    this.host = `${cfg.user}@${cfg.host}:${cfg.port}`;
  }

  start(spec: CommandSpec): RunningCommand {
    return remoteCommand(spec, (direction) => this.exec(shJoin(wrappedArgv(spec.argv, direction))), {
      where: `ssh ${this.host}`,
      idleTimeoutMs: this.cfg.idleTimeoutSec * 1000,
      signal: this.signal,
    });
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.end();
    this.client = undefined;
  }

  private async exec(command: string): Promise<Channel> {
    const client = await this.connection();
    const stream = await new Promise<ClientChannel>((resolve, reject) =>
      client.exec(command, (err, ch) =>
        err ? reject(new TransportError(`ssh exec on ${this.host} failed: ${err.message}`)) : resolve(ch),
      ),
    );
    // The exit status ends the wait: a channel whose output a remote descendant keeps open would never 'close'
    // (remoteCommand bounds the wait for the output and closes such a channel).
    const exit = new Promise<{ code?: number; signal?: string; error?: string }>((resolve) => {
      let status: { code?: number; signal?: string } | undefined;
      stream.on('exit', (code: number | null, signal?: string) => {
        status = {
          ...(code !== null && code !== undefined ? { code } : {}),
          ...(signal ? { signal: `SIG${signal}` } : {}),
        };
        resolve(status);
      });
      const onLost = (): void =>
        resolve(status ?? { error: `connection to ${this.host} was lost before the command finished` });
      stream.on('close', onLost);
      client.on('close', onLost);
      client.on('error', onLost);
    });
    return {
      stdout: stream,
      stderr: stream.stderr,
      stdin: stream,
      exit,
      kill: () => {
        try {
          signal(stream, 'TERM'); // OpenSSH signals the command's whole process group (killpg)
        } catch {
          // not all servers accept signals; closing the channel ends the command's pipes
        }
        stream.close();
      },
    };
  }

  private connection(): Promise<Client> {
    this.client ??= this.connect().catch((err: unknown) => {
      this.client = undefined;
      throw err;
    });
    return this.client;
  }

  private async connect(): Promise<Client> {
    const jump = this.cfg.jump;
    if (!jump) return this.open(this.cfg);
    const jumpClient = await this.open(jump);
    const sock = await new Promise<ClientChannel>((resolve, reject) =>
      jumpClient.forwardOut('127.0.0.1', 0, this.cfg.host, this.cfg.port, (err, ch) =>
        err
          ? reject(
              new TransportError(
                `jump host ${jump.host} could not reach ${this.cfg.host}:${this.cfg.port}: ${err.message}`,
              ),
            )
          : resolve(ch),
      ),
    );
    return this.open(this.cfg, sock);
  }

  private async open(hop: ResolvedHop, sock?: ClientChannel): Promise<Client> {
    const knownText = hop.hostKeyFingerprint ? undefined : await readFile(hop.knownHostsPath, 'utf8').catch(() => '');
    const entries = knownText === undefined ? [] : knownHostEntries(knownText, hop.host, hop.port);
    let refusal: string | undefined;
    const algorithms = hostKeyAlgorithms(entries);
    const config: ConnectConfig = {
      host: hop.host,
      port: hop.port,
      username: hop.user,
      ...(sock ? { sock } : {}),
      ...(hop.privateKey ? { privateKey: hop.privateKey } : {}),
      ...(hop.passphrase ? { passphrase: hop.passphrase } : {}),
      ...(hop.agentSocket ? { agent: hop.agentSocket } : {}),
      readyTimeout: this.cfg.connectTimeoutSec * 1000,
      keepaliveInterval: this.cfg.keepaliveIntervalSec * 1000,
      keepaliveCountMax: this.cfg.keepaliveCountMax,
      ...(algorithms.length
        ? { algorithms: { serverHostKey: algorithms as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] } }
        : {}),
      hostVerifier: (key: Buffer) => {
        const verdict = checkHostKey({
          keyBlob: key,
          host: hop.host,
          port: hop.port,
          pinned: hop.hostKeyFingerprint,
          knownHostsText: knownText,
          knownHostsPath: hop.knownHostsPath,
        });
        if (!verdict.ok) refusal = verdict.reason;
        return verdict.ok;
      },
    };
    // ssh2 is loaded on the first connection: runs that never use SSH do not pay for it at start-up.
    const { Client } = await import('ssh2');
    const client = new Client();
    this.clients.push(client);
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.once('error', (err: Error & { level?: string }) => {
        const why =
          refusal ??
          (err.level === 'client-authentication'
            ? `authentication as ${hop.user} failed (check identityFile/passphrase or the ssh-agent, and authorized_keys)`
            : err.message);
        reject(new TransportError(`ssh to ${hop.user}@${hop.host}:${hop.port}: ${why}`));
      });
      client.connect(config);
    });
    return client;
  }
}

/**
 * ssh2's signal() is silently dropped once this side sent EOF (a backup ends stdin right after the env header), yet
 * the request stays valid until the channel closes (RFC 4254 6.9): then it goes through ssh2's protocol object.
 */
function signal(stream: ClientChannel, name: string): void {
  if (stream.writable) return stream.signal(name);
  const ch = stream as unknown as {
    outgoing?: { id: number; state: string };
    _client?: { _protocol?: { signal(id: number, name: string): void } };
  };
  if (ch.outgoing && ch.outgoing.state !== 'closed') ch._client?._protocol?.signal(ch.outgoing.id, name);
}
