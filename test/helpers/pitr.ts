// A PostgreSQL cluster of its own for the point-in-time recovery tests (archive_mode needs a restart, so the shared
// test server is never used), with the igbackup config that points pgBackRest at the test S3 over HTTPS.

import { execa } from 'execa';
import { join } from 'node:path';
import { ROOT, s3Storage } from './cli.js';
import { freePort } from './redis.js';

export const PGBIN = process.env.IGBACKUP_PGBIN ?? '/usr/lib/postgresql/15/bin';
const asRoot = process.getuid?.() === 0;
/** Commands on the cluster's files run as its owner (postgres when the tests run as root). */
export const RUN_AS = asRoot ? ['runuser', '-u', 'postgres', '--'] : [];

export interface PitrCluster {
  dir: string;
  port: number;
  password: string;
  sql(statement: string, port?: number): Promise<string>;
  stop(): Promise<void>;
}

export async function startCluster(dir: string): Promise<PitrCluster> {
  const port = await freePort();
  const password = 'pitr-test-pw';
  await execa('bash', [join(ROOT, 'scripts/services/postgres.sh'), 'start', dir, String(port), password]);
  const sql = async (statement: string, p = port): Promise<string> =>
    (
      await execa(
        join(PGBIN, 'psql'),
        ['-X', '-Atq', '-h', '127.0.0.1', '-p', String(p), '-U', 'postgres', '-d', 'postgres', '-c', statement],
        {
          env: { PGPASSWORD: password },
        },
      )
    ).stdout.trim();
  const stop = async (): Promise<void> => {
    await execa('bash', [join(ROOT, 'scripts/services/postgres.sh'), 'stop', dir], { reject: false });
  };
  return { dir, port, password, sql, stop };
}

/** An env whose postgres section has PITR on the cluster; secrets by env var (see pitrEnv). */
export function pitrConfig(
  bucket: string,
  c: PitrCluster,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    tiers: { gold: { rpoMinutes: 5, rtoMinutes: 60 } },
    envs: {
      prod: {
        protected: true,
        tier: 'gold',
        storage: s3Storage(bucket),
        postgres: {
          host: '127.0.0.1',
          port: c.port,
          user: 'postgres',
          password: { env: 'PITR_PG_PASSWORD' },
          databases: ['postgres'],
          pitr: {
            cluster: 'main',
            dataDir: join(c.dir, 'data'),
            socketDir: c.dir,
            runAs: RUN_AS,
            workDir: join(c.dir, 'pgbackrest'),
            pgBin: PGBIN,
            s3Credentials: {
              accessKeyId: { env: 'AWS_ACCESS_KEY_ID' },
              secretAccessKey: { env: 'AWS_SECRET_ACCESS_KEY' },
            },
            restart: [...RUN_AS, join(PGBIN, 'pg_ctl'), '-D', join(c.dir, 'data'), '-w', '-m', 'fast', 'restart'],
            ...extra,
          },
        },
      },
    },
  };
}

export function pitrEnv(c: PitrCluster): Record<string, string> {
  return { PITR_PG_PASSWORD: c.password };
}
