// Kubernetes transport: `kubectl exec -i` (never -t) into a pod chosen by name or label selector; commands run inside
// the trailer wrapper because kubectl can lose the tail of a stream and still exit 0.

import { TransportError } from '../domain/errors.js';
import type { KubernetesTransportConfig } from '../config/schema.js';
import { runChild, spawnChild } from './child.js';
import { kubectlBase } from './kubectl.js';
import { remoteCommand, type Channel } from './remote.js';
import { reasonOf, type CommandSpec, type RunningCommand, type Transport } from './transport.js';
import { wrappedArgv } from './wrapper.js';

interface PodJson {
  metadata?: { name?: string; labels?: Record<string, string>; deletionTimestamp?: string };
  status?: { phase?: string; conditions?: { type?: string; status?: string }[] };
}

/** Picks a Running, Ready pod that is not terminating, preferring one with the primary label (pure). */
export function choosePod(items: PodJson[], primaryLabel?: string): string | undefined {
  const ready = items.filter(
    (p) =>
      p.status?.phase === 'Running' &&
      !p.metadata?.deletionTimestamp &&
      (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
  );
  if (primaryLabel) {
    const [k, v] = primaryLabel.split('=') as [string, string];
    const primary = ready.find((p) => p.metadata?.labels?.[k] === v);
    if (primary) return primary.metadata?.name;
    return undefined;
  }
  return ready
    .map((p) => p.metadata?.name)
    .filter((n): n is string => Boolean(n))
    .sort()[0];
}

export class KubernetesTransport implements Transport {
  readonly kind = 'kubernetes';
  readonly host: string;
  private pod: Promise<string> | undefined;

  /** `signal`: the run's cancellation; commands running when it aborts are ended. */
  constructor(
    private readonly cfg: KubernetesTransportConfig,
    private readonly signal?: AbortSignal,
  ) {
    this.host = `${cfg.context ? `${cfg.context}/` : ''}${cfg.namespace}/${cfg.pod ?? cfg.selector ?? '?'}`;
  }

  /** --context/--kubeconfig flags shared by every kubectl call. */
  kubectlBase(): string[] {
    return kubectlBase(this.cfg);
  }

  start(spec: CommandSpec): RunningCommand {
    return remoteCommand(spec, (direction) => this.exec(wrappedArgv(spec.argv, direction)), {
      where: `pod ${this.cfg.pod ?? this.cfg.selector} in namespace ${this.cfg.namespace}`,
      idleTimeoutMs: this.cfg.idleTimeoutSec * 1000,
      signal: this.signal,
    });
  }

  async close(): Promise<void> {
    // kubectl processes end with their commands
  }

  resolvePod(): Promise<string> {
    if (this.cfg.pod) return Promise.resolve(this.cfg.pod);
    this.pod ??= this.findPod().catch((err: unknown) => {
      this.pod = undefined;
      throw err;
    });
    return this.pod;
  }

  private async findPod(): Promise<string> {
    const [file, ...base] = this.kubectlBase();
    const r = await runChild(
      file as string,
      [...base, 'get', 'pods', '-n', this.cfg.namespace, '-l', this.cfg.selector as string, '-o', 'json'],
      60_000,
      this.signal,
    );
    if (this.signal?.aborted) throw reasonOf(this.signal);
    if (r.error || r.code !== 0) {
      const why = [r.stderr.trim(), r.error ?? (r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`)]
        .filter(Boolean)
        .join('; ');
      throw new TransportError(`kubectl get pods -l ${this.cfg.selector} -n ${this.cfg.namespace} failed: ${why}`);
    }
    let items: PodJson[];
    try {
      items = (JSON.parse(String(r.stdout)) as { items?: PodJson[] }).items ?? [];
    } catch {
      throw new TransportError('kubectl get pods did not return JSON');
    }
    const pod = choosePod(items, this.cfg.primaryLabel);
    if (!pod) {
      const want = this.cfg.primaryLabel ? ` with label ${this.cfg.primaryLabel}` : '';
      throw new TransportError(
        `no Running and Ready pod${want} matches -l ${this.cfg.selector} in namespace ${this.cfg.namespace} (${items.length} pod(s) found)`,
      );
    }
    return pod;
  }

  private async exec(command: string[]): Promise<Channel> {
    const pod = await this.resolvePod();
    const [file, ...base] = this.kubectlBase();
    const args = [...base, 'exec', '-i', '-n', this.cfg.namespace];
    if (this.cfg.container) args.push('-c', this.cfg.container);
    args.push(pod, '--', ...command);
    // Its own process group: a wrapper script or plugin that leaves descendants holding the pipes is ended with it.
    const child = spawnChild(file as string, args, { stdin: 'pipe' });
    const exit = child.exit.then((e) => {
      if (e.error && e.code === undefined && !e.signal)
        return { error: `${this.cfg.kubectl} could not be started: ${e.error}` };
      return { code: e.code, signal: e.signal, error: e.error };
    });
    if (!child.stdin) throw new TransportError('kubectl started without stdin');
    return { stdout: child.stdout, stderr: child.stderr, stdin: child.stdin, exit, kill: () => child.kill() };
  }
}
