// Point-in-time recovery through the Kubernetes transport, with the stand-in kubectl (first on PATH; it runs the
// exec'd command here, so the real PostgreSQL, pgBackRest and S3 do the work): pgBackRest runs in the database
// container through `kubectl exec -i` (never -t), the config reaches it through stdin and no secret is ever in argv.

import assert from 'node:assert/strict';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseJson, runCli, tempDir, writeConfig } from '../helpers/cli.js';
import { kubectlCalls, writeReadyPod } from '../helpers/kube.js';
import { KUBE } from '../helpers/neo4j.js';
import { pitrConfig, pitrEnv, startCluster, type PitrCluster } from '../helpers/pitr.js';
import { makeBucket } from '../helpers/servers.js';

describe('pitr through kubectl exec (stand-in kubectl, real PostgreSQL, pgBackRest and S3)', () => {
  let dir: string;
  let c: PitrCluster;
  let log: string;
  let pods: string;
  const env = () => ({ ...pitrEnv(c), PATH: `${KUBE}:${process.env.PATH}`, IGB_KUBE_PODS: pods, IGB_KUBECTL_LOG: log });

  before(async () => {
    dir = await tempDir('igb-pitr-kube-');
    await chmod(dir, 0o755);
    c = await startCluster(join(dir, 'pg'));
    log = join(dir, 'kubectl.log');
    pods = await writeReadyPod(dir, { name: 'pg-0', namespace: 'db', labels: { app: 'pg' } });
    const cfg = pitrConfig(await makeBucket(), c, { archiveTimeoutSec: 5 }) as {
      envs: { prod: { postgres: Record<string, unknown> } };
    };
    cfg.envs.prod.postgres.transport = {
      type: 'kubernetes',
      namespace: 'db',
      selector: 'app=pg',
      container: 'postgres',
    };
    await writeConfig(dir, cfg);
  });
  after(async () => {
    await c?.stop();
  });

  it('enable, a base backup and a restore run in the database container; secrets only through stdin', async () => {
    const enable = await runCli(['pitr', 'enable', '--env', 'prod', '--restart'], { cwd: dir, env: env() });
    assert.equal(enable.code, 0, enable.stderr);
    const b = await runCli(['backup', 'postgres', '--env', 'prod', '--physical', '--type', 'full'], {
      cwd: dir,
      env: env(),
    });
    assert.equal(b.code, 0, b.stderr);
    const r = await runCli(['--json', 'restore', 'postgres', '--env', 'prod', '--physical', '--latest'], {
      cwd: dir,
      env: env(),
    });
    assert.equal(r.code, 0, r.stderr);
    const res = parseJson<{ result: { port: number } }>(r).result;
    assert.equal(await c.sql('SELECT 1', res.port), '1');
    const calls = await kubectlCalls(log);
    const execs = calls.filter((x) => x.includes('exec'));
    const backup = execs.find((x) => x.includes('backup') && x.some((a) => a.startsWith('--config=')));
    assert.ok(backup, 'pgbackrest backup went through kubectl exec');
    assert.deepEqual(backup.slice(0, 7), ['exec', '-i', '-n', 'db', '-c', 'postgres', 'pg-0']);
    for (const x of calls) {
      const own = x.includes('--') ? x.slice(0, x.indexOf('--')) : x; // kubectl's own flags, not the command's
      assert.ok(!own.includes('-t') && !own.includes('--tty'), 'never a TTY');
      for (const secret of [c.password, process.env.AWS_SECRET_ACCESS_KEY ?? '\0']) {
        assert.ok(!x.join(' ').includes(secret), `no secret in the argv of ${x.slice(0, 8).join(' ')}`);
      }
    }
  });
});
