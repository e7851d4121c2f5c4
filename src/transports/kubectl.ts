// kubectl as a client of the cluster for the verbs igbackup needs besides exec: namespaces, apply, wait, scale,
// helper pods, rollout status. Each call runs on this machine and must exit 0 (ProcessFailedError otherwise); the
// waits carry kubectl's own --timeout, every other call a --request-timeout, so no call waits without a bound.

import type { Transport } from './transport.js';
import { captureOk } from './run.js';

/** Which kubectl and which cluster: the program, and --context/--kubeconfig when given. */
export interface KubectlTarget {
  kubectl: string;
  context?: string | undefined;
  kubeconfig?: string | undefined;
}

/** How long one API request of a non-waiting verb may take. */
export const REQUEST_TIMEOUT = '--request-timeout=60s';

/** The argv every kubectl call starts with (pure). */
export function kubectlBase(t: KubectlTarget): string[] {
  const argv = [t.kubectl];
  if (t.context) argv.push('--context', t.context);
  if (t.kubeconfig) argv.push('--kubeconfig', t.kubeconfig);
  return argv;
}

export class Kubectl {
  constructor(
    private readonly target: KubectlTarget,
    /** Where kubectl runs: the runner (this machine). */
    private readonly runner: Transport,
  ) {}

  /** Any kubectl call; stdout when it exits 0. */
  run(...args: string[]): Promise<string> {
    return captureOk(this.runner, { argv: [...kubectlBase(this.target), ...args] });
  }

  createNamespace(ns: string): Promise<string> {
    return this.run(REQUEST_TIMEOUT, 'create', 'namespace', ns);
  }

  /** Deletion is asynchronous (--wait=false): the namespace goes away with everything in it. */
  deleteNamespace(ns: string): Promise<string> {
    return this.run(REQUEST_TIMEOUT, 'delete', 'namespace', ns, '--wait=false');
  }

  apply(ns: string, file: string): Promise<string> {
    return this.run(REQUEST_TIMEOUT, 'apply', '-n', ns, '-f', file);
  }

  waitReady(ns: string, pod: string, timeoutSec: number): Promise<string> {
    return this.run('-n', ns, 'wait', '--for=condition=Ready', `pod/${pod}`, `--timeout=${timeoutSec}s`);
  }

  waitDeleted(ns: string, pod: string, timeoutSec: number): Promise<string> {
    return this.run('-n', ns, 'wait', '--for=delete', `pod/${pod}`, `--timeout=${timeoutSec}s`);
  }

  /** The StatefulSet's spec.replicas ("1" when unset). */
  async replicas(ns: string, statefulSet: string): Promise<string> {
    return (
      (
        await this.run(REQUEST_TIMEOUT, '-n', ns, 'get', 'statefulset', statefulSet, '-o', 'jsonpath={.spec.replicas}')
      ).trim() || '1'
    );
  }

  scale(ns: string, statefulSet: string, replicas: string | number): Promise<string> {
    return this.run(REQUEST_TIMEOUT, '-n', ns, 'scale', 'statefulset', statefulSet, `--replicas=${replicas}`);
  }

  /** A pod that runs `command` (a helper on a PVC, say); `overrides` is the pod spec as JSON. */
  runPod(ns: string, name: string, image: string, overrides: string, command: string[]): Promise<string> {
    return this.run(
      REQUEST_TIMEOUT,
      '-n',
      ns,
      'run',
      name,
      `--image=${image}`,
      '--restart=Never',
      `--overrides=${overrides}`,
      '--command',
      '--',
      ...command,
    );
  }

  /** Deletes a pod and waits (at most timeoutSec) until it is gone; a pod that is already gone is fine. */
  deletePod(ns: string, name: string, timeoutSec: number): Promise<string> {
    return this.run(
      REQUEST_TIMEOUT,
      '-n',
      ns,
      'delete',
      'pod',
      name,
      '--ignore-not-found=true',
      '--wait=true',
      `--timeout=${timeoutSec}s`,
    );
  }

  /** Whether the object exists: undefined when it does, else kubectl's last line of error. */
  async missing(ns: string, kind: string, name: string): Promise<string | undefined> {
    try {
      await this.run(REQUEST_TIMEOUT, '-n', ns, 'get', kind, name, '-o', 'name');
      return undefined;
    } catch (err) {
      return (err as Error).message.trim().split('\n').slice(-1)[0] ?? 'not found';
    }
  }

  rolloutStatus(ns: string, statefulSet: string, timeoutSec: number): Promise<string> {
    return this.run('-n', ns, 'rollout', 'status', `statefulset/${statefulSet}`, `--timeout=${timeoutSec}s`);
  }
}
