// The neo4j section of an env: edition, databases, service control, Enterprise and Kubernetes settings.

import { z } from 'zod';
import { argvSchema, compressionFields } from './common.js';
import { transportSchema } from './transport.js';

export const neo4jSchema = z.strictObject({
  transport: transportSchema.prefault({ type: 'local' }),
  /** community: offline dump (the DBMS is stopped); enterprise: online `database backup`. */
  edition: z.enum(['community', 'enterprise']).default('community'),
  /** neo4j-admin syntax: 5 (`database dump/load`) or 4.4 (`dump`/`load`). */
  syntax: z.enum(['5', '4.4']).default('5'),
  databases: z
    .array(z.string().regex(/^[A-Za-z0-9._-]{1,63}$/, 'a Neo4j database name'))
    .min(1)
    .default(['neo4j']),
  neo4jAdmin: z.string().min(1).default('neo4j-admin'),
  /**
   * Community: dump (default: each database, portable across Neo4j versions) or tar (the whole data directory, every
   * database and system, restorable only into the same Neo4j version).
   */
  method: z.enum(['dump', 'tar']).default('dump'),
  /** The DBMS's data directory on the host (server.directories.data), for method tar; in Kubernetes the PVC's mount. */
  dataDir: z.string().regex(/^\//, 'an absolute path').default('/var/lib/neo4j/data'),
  /** How the DBMS is stopped, started and probed on a VM (or locally). */
  service: z
    .strictObject({
      stop: argvSchema.default(['systemctl', 'stop', 'neo4j']),
      start: argvSchema.default(['systemctl', 'start', 'neo4j']),
      /** Exits 0 when Neo4j runs and answers, non-zero when it is stopped. */
      status: argvSchema.default(['systemctl', 'is-active', '--quiet', 'neo4j']),
      readyTimeoutSec: z.number().int().min(1).max(3600).default(300),
      startAttempts: z.number().int().min(1).max(10).default(3),
    })
    .prefault({}),
  enterprise: z
    .strictObject({
      /** --from=host:port of the backup server (default: the local instance). */
      from: z.string().min(1).optional(),
      /**
       * Directory on the Neo4j host for backup artifacts and restores; it keeps each database's current backup chain
       * (chain-<env>-<db>), which a differential backup builds on.
       */
      workDir: z.string().min(1).default('/tmp/igbackup-neo4j'),
      /** What `backup neo4j` takes without --type: full, diff (on the chain in the store), or auto (diff when it can). */
      type: z.enum(['full', 'diff', 'auto']).default('full'),
    })
    .prefault({}),
  /** Kubernetes (Community): scale the StatefulSet to 0 and dump from a helper pod that mounts the data PVC. */
  kubernetes: z
    .strictObject({
      statefulSet: z.string().min(1),
      pvc: z.string().min(1),
      image: z.string().min(1),
      mountPath: z.string().min(1).default('/data'),
      helperTimeoutSec: z.number().int().min(1).max(3600).default(300),
      rolloutTimeoutSec: z.number().int().min(1).max(7200).default(600),
    })
    .optional(),
  ...compressionFields,
});
export type Neo4jConfig = z.infer<typeof neo4jSchema>;
