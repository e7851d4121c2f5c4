// Drills in Kubernetes: a fresh namespace per drill with the engine's workload, deleted afterwards (unless --keep);
// the env as seen from inside it.

import { resolve } from 'node:path';
import { Kubectl, kubectlBase, type KubectlTarget } from '../../transports/kubectl.js';
import { shJoin } from '../../transports/wrapper.js';
import type { AppContext, EnvHandle } from '../context.js';
import { withCleanups, type Undo } from '../plan.js';
import { scratchStamp } from '../scratch.js';
import { errorText, type DrillOptions, type DrillReport } from './report.js';

export type KubeDrill = NonNullable<EnvHandle['env']['drill']['kubernetes']>;

/**
 * A fresh namespace igbackup-drill-<ts>-<random>-<engine> with the workload from `manifest`, its pod Ready, then body; the
 * namespace is deleted afterwards (a cleanup of withCleanups), also when anything failed, unless --keep.
 */
export async function inDrillNamespace(
  ctx: AppContext,
  k: KubeDrill,
  w: { engine: string; manifest: string; pod: string },
  opts: DrillOptions,
  body: (ns: string) => Promise<DrillReport>,
  failed: (ns: string, error: string) => DrillReport,
): Promise<DrillReport> {
  const ns = `igbackup-drill-${scratchStamp(ctx.now())}-${w.engine}`;
  const target: KubectlTarget = { kubectl: k.kubectl, context: k.context, kubeconfig: kubeconfigPath(ctx, k) };
  const kubectl = new Kubectl(target, ctx.runner);
  return withCleanups('drill', ctx, async (defer) => {
    try {
      ctx.reporter.step(`drill: creating namespace ${ns} and the workload from ${w.manifest}`);
      await kubectl.createNamespace(ns);
      if (!opts.keep) defer(deleteNamespace(kubectl, target, ns));
      await kubectl.apply(ns, resolve(ctx.configDir, w.manifest));
      await kubectl.waitReady(ns, w.pod, k.readyTimeoutSec);
      return await body(ns);
    } catch (err) {
      return failed(ns, errorText(err));
    }
  });
}

/** The cleanup that deletes the drill namespace and everything in it (kubectl returns without waiting). */
function deleteNamespace(kubectl: Kubectl, target: KubectlTarget, ns: string): Undo {
  return {
    name: `deleting namespace ${ns}`,
    run: async () => void (await kubectl.deleteNamespace(ns)),
    manual: [shJoin([...kubectlBase(target), 'delete', 'namespace', ns])],
  };
}

/** The env's handle as seen from a drill namespace: `section` replaces the engine's section (its transport, connection); same store. */
export function inNamespace(h: EnvHandle, section: Partial<EnvHandle['env']>): EnvHandle {
  return { ...h, env: { ...h.env, ...section } };
}

/** A kubeconfig path in the config is relative to the config file's directory. */
function kubeconfigPath(ctx: AppContext, k: KubeDrill): string | undefined {
  return k.kubeconfig ? resolve(ctx.configDir, k.kubeconfig) : undefined;
}

export function kubeTransport(ctx: AppContext, k: KubeDrill, ns: string, pod: string, container: string | undefined) {
  return {
    type: 'kubernetes' as const,
    namespace: ns,
    pod,
    container,
    context: k.context,
    kubeconfig: kubeconfigPath(ctx, k),
    kubectl: k.kubectl,
    idleTimeoutSec: 600,
  };
}
