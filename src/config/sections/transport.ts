// Where an engine's commands run: locally, over SSH (with jump hosts), or through kubectl exec.

import { z } from 'zod';
import { secretRefSchema } from './common.js';

const localTransportSchema = z.strictObject({
  type: z.literal('local'),
  /** A backup's producer that writes nothing for this long is killed (a pg_dump stuck behind a lock, say). */
  idleTimeoutSec: z.number().int().min(1).max(86400).default(600),
});

const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** One SSH hop: how to reach it, how to log in, how its host key is checked. */
const sshHopSchema = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(22),
  user: z.string().min(1),
  /** Private key file; its passphrase by reference. Without it, the ssh-agent at $SSH_AUTH_SOCK is used. */
  identityFile: z.string().min(1).optional(),
  passphrase: secretRefSchema.optional(),
  agent: z.boolean().optional(),
  /** known_hosts file to check the host key against (default ~/.ssh/known_hosts). */
  knownHosts: z.string().min(1).optional(),
  /** Pinned host key fingerprint, as ssh-keygen -lf prints it: SHA256:<43 base64 chars>. */
  hostKeyFingerprint: z
    .string()
    .regex(FINGERPRINT, 'must look like SHA256:<43 base64 characters> (ssh-keygen -lf)')
    .optional(),
});

const sshTransportSchema = sshHopSchema.extend({
  type: z.literal('ssh'),
  jump: sshHopSchema.optional(),
  keepaliveIntervalSec: z.number().int().min(0).max(3600).default(15),
  keepaliveCountMax: z.number().int().min(1).max(100).default(4),
  connectTimeoutSec: z.number().int().min(1).max(600).default(20),
  /** A backup stream that delivers no bytes for this long is killed and fails. */
  idleTimeoutSec: z.number().int().min(1).max(86400).default(600),
});

const kubernetesTransportSchema = z
  .strictObject({
    type: z.literal('kubernetes'),
    namespace: z.string().min(1).default('default'),
    pod: z.string().min(1).optional(),
    /** Label selector (kubectl get pods -l); a Running, Ready pod is chosen. */
    selector: z.string().min(1).optional(),
    /** Among selected pods prefer the one with this label (e.g. "role=primary" for a Postgres primary). */
    primaryLabel: z
      .string()
      .regex(/^[^=\s]+=[^=\s]*$/, 'must be key=value')
      .optional(),
    container: z.string().min(1).optional(),
    context: z.string().min(1).optional(),
    kubeconfig: z.string().min(1).optional(),
    kubectl: z.string().min(1).default('kubectl'),
    idleTimeoutSec: z.number().int().min(1).max(86400).default(600),
  })
  .refine((k) => (k.pod === undefined) !== (k.selector === undefined), {
    message: 'give exactly one of "pod" (a pod name) or "selector" (a label selector)',
  });

export const transportSchema = z.discriminatedUnion('type', [
  localTransportSchema,
  sshTransportSchema,
  kubernetesTransportSchema,
]);
export type TransportConfig = z.infer<typeof transportSchema>;
export type SshTransportConfig = z.infer<typeof sshTransportSchema>;
export type SshHopConfig = z.infer<typeof sshHopSchema>;
export type KubernetesTransportConfig = z.infer<typeof kubernetesTransportSchema>;
