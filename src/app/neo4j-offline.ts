// Taking Neo4j offline for Community dumps/loads, always bringing it back: a stopped service on a VM, or a
// StatefulSet scaled to 0 with a helper pod on the data PVC in Kubernetes. Failures report what was done to recover.

import type { KubernetesTransportConfig, Neo4jConfig } from '../config/schema.js';
import { IgbackupError, ProcessFailedError } from '../domain/errors.js';
import { keyTimestamp } from '../domain/keys.js';
import * as neo4j from '../engines/neo4j.js';
import { KubernetesTransport } from '../transports/kubernetes.js';
import { capture, captureOk } from '../transports/run.js';
import { succeeded, type Transport } from '../transports/transport.js';
import type { AppContext } from './context.js';
import { waitUntil } from './wait.js';

/** Adds the recovery report to an error's message (the primary cause stays first). */
function withRecovery(err: unknown, notes: string[]): unknown {
  if (err instanceof Error && notes.length) err.message = `${err.message}\nrecovery: ${notes.join('; ')}`;
  return err;
}

async function isRunning(transport: Transport, status: string[]): Promise<boolean> {
  return succeeded(await capture(transport, { argv: status }));
}

/** Starts Neo4j and waits until the status command says it runs; retries; throws if it never comes back. */
export async function startNeo4j(ctx: AppContext, transport: Transport, svc: Neo4jConfig['service']): Promise<string> {
  let last = '';
  for (let attempt = 1; attempt <= svc.startAttempts; attempt++) {
    const r = await capture(transport, { argv: svc.start });
    if (succeeded(r)) {
      try {
        await waitUntil('Neo4j start', svc.readyTimeoutSec * 1000, () => isRunning(transport, svc.status), 500);
        return attempt === 1 ? 'started Neo4j' : `started Neo4j (attempt ${attempt})`;
      } catch (e) {
        last = (e as Error).message;
      }
    } else last = r.stderrTail.trim() || `exit ${r.exitCode}`;
    ctx.reporter.warn(`starting Neo4j failed (attempt ${attempt}/${svc.startAttempts}): ${last}`);
  }
  throw new IgbackupError(`Neo4j did not come back after ${svc.startAttempts} start attempts: ${last}`, {
    hint: `start it by hand (${svc.start.join(' ')}) and check its logs`,
  });
}

/** Stops the DBMS, runs fn, and starts it again whatever happened. */
export async function withServiceStopped<T>(ctx: AppContext, transport: Transport, svc: Neo4jConfig['service'], fn: () => Promise<T>): Promise<T> {
  ctx.reporter.step(`stopping Neo4j (${svc.stop.join(' ')})`);
  const stop = await capture(transport, { argv: svc.stop });
  if (!succeeded(stop)) {
    // Nothing was changed; make sure it is still up and report.
    const notes = [(await isRunning(transport, svc.status)) ? 'Neo4j is still running' : await startNeo4j(ctx, transport, svc)];
    throw withRecovery(new ProcessFailedError(svc.stop.join(' '), stop), notes);
  }
  let result: T;
  try {
    await waitUntil('Neo4j stop', svc.readyTimeoutSec * 1000, async () => !(await isRunning(transport, svc.status)), 500);
    result = await fn();
  } catch (err) {
    const notes: string[] = [];
    try {
      notes.push(await startNeo4j(ctx, transport, svc));
    } catch (startErr) {
      notes.push(`FAILED to start Neo4j: ${(startErr as Error).message}`);
    }
    throw withRecovery(err, notes);
  }
  ctx.reporter.step('starting Neo4j again');
  await startNeo4j(ctx, transport, svc);
  return result;
}

/**
 * Kubernetes Community: records the StatefulSet's replicas, scales to 0, waits for the pod to go, runs a helper pod
 * (same image) on the data PVC, runs fn with a transport into it, then deletes the helper, scales back and waits for
 * the rollout — the last three whatever happened.
 */
export async function withOfflinePod<T>(
  ctx: AppContext,
  k8s: KubernetesTransportConfig,
  cfg: NonNullable<Neo4jConfig['kubernetes']>,
  fn: (helper: Transport) => Promise<T>,
): Promise<T> {
  const base = new KubernetesTransport(k8s).kubectlBase();
  const kubectl = (...args: string[]): Promise<string> => captureOk(ctx.runner, { argv: [...base, '-n', k8s.namespace, ...args] });
  const replicas = (await kubectl('get', 'statefulset', cfg.statefulSet, '-o', 'jsonpath={.spec.replicas}')).trim() || '1';
  const helper = `igbackup-neo4j-${keyTimestamp(ctx.now()).replace(/\D/g, '').slice(0, 14)}`;
  const notes: string[] = [];
  let scaledDown = false;
  let helperStarted = false;
  let failure: unknown;
  let result: T | undefined;
  try {
    ctx.reporter.step(`scaling statefulset ${cfg.statefulSet} from ${replicas} to 0`);
    await kubectl('scale', 'statefulset', cfg.statefulSet, '--replicas=0');
    scaledDown = true;
    await kubectl('wait', '--for=delete', `pod/${cfg.statefulSet}-0`, `--timeout=${cfg.helperTimeoutSec}s`);
    ctx.reporter.step(`starting helper pod ${helper} on PVC ${cfg.pvc}`);
    helperStarted = true;
    await kubectl(
      'run', helper, `--image=${cfg.image}`, '--restart=Never',
      `--overrides=${neo4j.helperPodOverrides({ name: helper, image: cfg.image, pvc: cfg.pvc, mountPath: cfg.mountPath })}`,
      '--command', '--', 'sleep', '86400',
    );
    await kubectl('wait', '--for=condition=Ready', `pod/${helper}`, `--timeout=${cfg.helperTimeoutSec}s`);
    result = await fn(new KubernetesTransport({ ...k8s, pod: helper, selector: undefined, primaryLabel: undefined, container: undefined }, ctx.signal));
  } catch (err) {
    failure = err;
  }
  const step = async (what: string, ...args: string[]): Promise<void> => {
    try {
      await kubectl(...args);
      notes.push(`${what}: ok`);
    } catch (e) {
      notes.push(`${what}: FAILED (${(e as Error).message.split('\n').slice(0, 2).join(' ')})`);
    }
  };
  if (helperStarted) await step(`deleted helper pod ${helper}`, 'delete', 'pod', helper, '--ignore-not-found=true', '--wait=true');
  if (scaledDown) {
    await step(`scaled ${cfg.statefulSet} back to ${replicas}`, 'scale', 'statefulset', cfg.statefulSet, `--replicas=${replicas}`);
    await step(`rollout of ${cfg.statefulSet} complete`, 'rollout', 'status', `statefulset/${cfg.statefulSet}`, `--timeout=${cfg.rolloutTimeoutSec}s`);
  }
  if (failure !== undefined) throw withRecovery(failure, notes);
  const broken = notes.filter((n) => n.includes('FAILED'));
  if (broken.length) {
    throw new IgbackupError(`the operation finished, but bringing Neo4j back failed: ${broken.join('; ')}`, {
      hint: `scale statefulset ${cfg.statefulSet} to ${replicas} by hand and delete pod ${helper}`,
    });
  }
  return result as T;
}
