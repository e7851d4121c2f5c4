// Taking Neo4j offline in Kubernetes (Community): the StatefulSet scaled to 0, a helper pod of the same image on the
// data PVC for the work, then the helper deleted, the StatefulSet scaled back and its rollout waited for, whatever
// happened. A scale-back or rollout that fails is a ServiceDownError naming the commands that bring Neo4j back.

import type { KubernetesTransportConfig, Neo4jConfig } from '../../config/schema.js';
import { IgbackupError, RecoveryError, ServiceDownError } from '../../domain/errors.js';
import * as neo4j from '../../engines/neo4j/commands.js';
import { KubernetesTransport } from '../../transports/kubernetes.js';
import { Kubectl, kubectlBase } from '../../transports/kubectl.js';
import type { Transport } from '../../transports/transport.js';
import { shJoin } from '../../transports/wrapper.js';
import type { AppContext } from '../context.js';
import { withRecovery, type OfflineWindow } from './offline.js';
import { scratchStamp } from '../scratch.js';

/**
 * Before anything is stopped (restore preflight): the StatefulSet and the data PVC exist. Read-only `kubectl get`s;
 * a missing object is a ConfigError naming the setting to fix.
 */
export async function checkWorkload(
  ctx: AppContext,
  k8s: KubernetesTransportConfig,
  cfg: NonNullable<Neo4jConfig['kubernetes']>,
): Promise<string[]> {
  const kubectl = new Kubectl(k8s, ctx.runner);
  const problems: string[] = [];
  const objects: [string, string, string][] = [
    ['statefulset', cfg.statefulSet, 'neo4j.kubernetes.statefulSet'],
    ['pvc', cfg.pvc, 'neo4j.kubernetes.pvc'],
  ];
  for (const [kind, name, key] of objects) {
    const why = await kubectl.missing(k8s.namespace, kind, name);
    if (why !== undefined)
      problems.push(
        `${kind} ${name} in namespace ${k8s.namespace} could not be found (${why}): fix ${key} (or the transport's namespace, context, kubeconfig)`,
      );
  }
  return problems;
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
  fn: (helper: Transport, w: OfflineWindow) => Promise<T>,
): Promise<T> {
  const kubectl = new Kubectl(k8s, ctx.runner);
  const ns = k8s.namespace;
  const replicas = await kubectl.replicas(ns, cfg.statefulSet);
  const helper = `igbackup-neo4j-${scratchStamp(ctx.now())}`;
  const w = offlineWindow(k8s, cfg, helper, replicas);
  let scaledDown = false;
  let helperStarted = false;
  let failure: unknown;
  let result: T | undefined;
  let release = (): void => undefined;
  try {
    ctx.reporter.step(`scaling statefulset ${cfg.statefulSet} from ${replicas} to 0`);
    await kubectl.scale(ns, cfg.statefulSet, 0);
    scaledDown = true;
    release = ctx.guard?.stopped(w.service, w.bringBack) ?? release; // a signal now waits for the scale-back
    await kubectl.waitDeleted(ns, `${cfg.statefulSet}-0`, cfg.helperTimeoutSec);
    ctx.reporter.step(`starting helper pod ${helper} on PVC ${cfg.pvc}`);
    helperStarted = true;
    const overrides = neo4j.helperPodOverrides({
      name: helper,
      image: cfg.image,
      pvc: cfg.pvc,
      mountPath: cfg.mountPath,
    });
    await kubectl.runPod(ns, helper, cfg.image, overrides, ['sleep', '86400']);
    await kubectl.waitReady(ns, helper, cfg.helperTimeoutSec);
    const into = new KubernetesTransport(
      { ...k8s, pod: helper, selector: undefined, primaryLabel: undefined, container: undefined },
      ctx.signal,
    );
    result = await fn(into, w);
  } catch (err) {
    // fn decided Neo4j must stay down (e.g. the previous database could not be put back): the helper pod stays for
    // the commands the error names, and the StatefulSet is not scaled back.
    if (err instanceof ServiceDownError) {
      release();
      throw err;
    }
    failure = err;
  }
  const run: OfflineRun = { w, namespace: ns, cfg, helper, replicas, helperStarted, scaledDown };
  const notes = await bringBack(kubectl, run).finally(release);
  const error = offlineError(run, failure, notes);
  if (error !== undefined) throw error;
  return result as T;
}

function offlineWindow(
  k8s: KubernetesTransportConfig,
  cfg: NonNullable<Neo4jConfig['kubernetes']>,
  helper: string,
  replicas: string,
): OfflineWindow {
  const k = shJoin([...kubectlBase(k8s), '-n', k8s.namespace]);
  return {
    service: `Neo4j (StatefulSet ${cfg.statefulSet} in namespace ${k8s.namespace})`,
    foundStopped: replicas === '0',
    runThere: (argv) => `${k} exec -i ${helper} -- ${shJoin(argv)}`,
    bringBack: [
      `${k} delete pod ${helper} --ignore-not-found=true`,
      `${k} scale statefulset ${cfg.statefulSet} --replicas=${replicas}`,
    ],
    howToStart: `${k} scale statefulset ${cfg.statefulSet} --replicas=1`,
  };
}

interface OfflineRun {
  w: OfflineWindow;
  namespace: string;
  cfg: NonNullable<Neo4jConfig['kubernetes']>;
  helper: string;
  replicas: string;
  helperStarted: boolean;
  scaledDown: boolean;
}

/** Deletes the helper pod, scales the StatefulSet back and waits for the rollout; one note per step. */
async function bringBack(kubectl: Kubectl, r: OfflineRun): Promise<string[]> {
  const notes: string[] = [];
  const step = async (what: string, call: () => Promise<string>): Promise<void> => {
    try {
      await call();
      notes.push(`${what}: ok`);
    } catch (e) {
      notes.push(`${what}: FAILED (${(e as Error).message.split('\n').slice(0, 2).join(' ')})`);
    }
  };
  const sts = r.cfg.statefulSet;
  if (r.helperStarted)
    await step(`deleted helper pod ${r.helper}`, () =>
      kubectl.deletePod(r.namespace, r.helper, r.cfg.helperTimeoutSec),
    );
  if (r.scaledDown) {
    await step(`scaled ${sts} back to ${r.replicas}`, () => kubectl.scale(r.namespace, sts, r.replicas));
    await step(`rollout of ${sts} complete`, () => kubectl.rolloutStatus(r.namespace, sts, r.cfg.rolloutTimeoutSec));
  }
  return notes;
}

/** What to throw after the offline window: DOWN when the scale-back or rollout failed, else the failure, else a leftover. */
function offlineError(r: OfflineRun, failure: unknown, notes: string[]): unknown {
  const back = notes.filter((n) => n.startsWith('scaled') || n.startsWith('rollout'));
  if (r.scaledDown && back.some((n) => n.includes('FAILED'))) {
    const commands = r.w.bringBack;
    return new ServiceDownError(r.w.service, {
      cause: (failure instanceof RecoveryError ? failure.cause : failure) ?? new IgbackupError(back.join('; ')),
      commands,
      recovery:
        failure === undefined
          ? ['the operation itself completed', ...notes]
          : [...(failure instanceof RecoveryError ? failure.recovery : []), ...notes],
      hint: `run: ${commands.join(' && ')}; then kubectl rollout status statefulset/${r.cfg.statefulSet} (and check the pod's events if it does not become ready)`,
    });
  }
  if (failure !== undefined) return withRecovery(failure, notes);
  const broken = notes.filter((n) => n.includes('FAILED'));
  if (broken.length)
    return new IgbackupError(`the operation finished and Neo4j runs again, but: ${broken.join('; ')}`, {
      hint: `delete pod ${r.helper} by hand`,
    });
  return undefined;
}
