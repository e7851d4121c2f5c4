// The drill section of an env: smoke tests per engine, the throwaway Neo4j, drills in a Kubernetes namespace.

import { z } from 'zod';
import { secretRefSchema } from './common.js';
import { redisRestoreSchema } from './redis.js';

/** `igbackup drill`: smoke tests run against the throwaway restore. */
export const drillSchema = z
  .strictObject({
    postgres: z
      .array(z.strictObject({ database: z.string().optional(), sql: z.string().min(1), expect: z.string() }))
      .default([]),
    redis: z
      .array(
        z.strictObject({
          command: z.array(z.string().min(1)).min(1),
          expect: z.string().optional(),
          min: z.number().finite().optional(),
        }),
      )
      .default([]),
    /** Cypher smoke tests, run against a throwaway DBMS started from the restored copy on this machine. */
    neo4j: z
      .array(z.strictObject({ database: z.string().optional(), cypher: z.string().min(1), expect: z.string() }))
      .default([]),
    /** The throwaway Neo4j DBMS (verify and drill): the installed Neo4j started with its own neo4j.conf. */
    neo4jScratch: z
      .strictObject({
        neo4j: z.string().min(1).default('neo4j'),
        cypherShell: z.string().min(1).default('cypher-shell'),
        readyTimeoutSec: z.number().int().min(1).max(3600).default(300),
        heap: z
          .string()
          .regex(/^\d+[kmgKMG]?$/, 'a size such as 512m')
          .default('512m'),
        pageCache: z
          .string()
          .regex(/^\d+[kmgKMG]?$/, 'a size such as 256m')
          .default('256m'),
      })
      .prefault({}),
    /**
     * Drills in a fresh namespace igbackup-drill-<ts>-<engine>, each engine's workload from its own manifest:
     * PostgreSQL with the fields at this level (manifest, pod, host, port, user, password), Redis and Neo4j with
     * their blocks.
     */
    kubernetes: z
      .strictObject({
        manifest: z.string().min(1).optional(),
        /** The pod of the applied workload that runs PostgreSQL (e.g. postgres-0). */
        pod: z.string().min(1).optional(),
        container: z.string().min(1).optional(),
        context: z.string().min(1).optional(),
        kubeconfig: z.string().min(1).optional(),
        kubectl: z.string().min(1).default('kubectl'),
        readyTimeoutSec: z.number().int().min(1).max(7200).default(600),
        /** How the drill connects to the throwaway PostgreSQL inside the pod. */
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(1).max(65535).default(5432),
        user: z.string().min(1).default('postgres'),
        password: secretRefSchema.optional(),
        redis: z
          .strictObject({
            manifest: z.string().min(1),
            /** The pod of the applied workload that runs Redis (e.g. drill-redis-0). */
            pod: z.string().min(1),
            container: z.string().min(1).optional(),
            port: z.number().int().min(1).max(65535).default(6379),
            password: secretRefSchema.optional(),
            /** How the restore stops and starts Redis in that pod; default: the env's redis.restore. */
            restore: redisRestoreSchema.optional(),
          })
          .optional(),
        /**
         * Neo4j: its own workload (a StatefulSet with a data PVC); the restore goes in offline (scaled to 0, a helper
         * pod on the PVC loads and checks, scaled back), then the Cypher checks run in its pod through cypher-shell.
         */
        neo4j: z
          .strictObject({
            manifest: z.string().min(1),
            statefulSet: z.string().min(1),
            /** Its pod (default <statefulSet>-0). */
            pod: z.string().min(1).optional(),
            container: z.string().min(1).optional(),
            pvc: z.string().min(1),
            /** The image of the helper pod (the workload's Neo4j image). */
            image: z.string().min(1),
            mountPath: z.string().min(1).default('/data'),
            boltPort: z.number().int().min(1).max(65535).default(7687),
            username: z.string().min(1).default('neo4j'),
            /** The drill workload's Neo4j password (reaches cypher-shell as NEO4J_PASSWORD, never argv). */
            password: secretRefSchema.optional(),
            cypherShell: z.string().min(1).default('cypher-shell'),
          })
          .optional(),
      })
      .refine((k) => Boolean(k.manifest) === Boolean(k.pod), {
        message: 'manifest and pod go together (the PostgreSQL drill workload and its pod)',
      })
      .optional(),
  })
  .prefault({});
