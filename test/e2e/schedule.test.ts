// schedule crontab|k8s through the CLI: crontab lines that run as written (quoting, flock, env file), and
// Kubernetes manifests that pass the kubernetes-models schema validation with the fields an operator expects.

import assert from 'node:assert/strict';
import { readFile, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { runCli, tempDir, writeConfig } from '../helpers/cli.js';

const SECRET = 'pw-never-in-manifests';

async function setup(extra: Record<string, unknown> = {}): Promise<string> {
  const dir = await tempDir();
  await writeConfig(dir, {
    envs: {
      prod: {
        storage: { type: 'file', path: './b' },
        postgres: { databases: ['app', "it's odd"], password: { env: 'PGPW' } },
        redis: { port: 6380 },
        schedule: {
          postgres: '0 * * * *',
          redis: '*/5 * * * *',
          envFile: join(dir, 'igbackup.env'),
          logDir: dir,
          lockDir: dir,
          bin: join(dir, 'fake-igbackup'),
          kubernetes: { image: 'registry.example/igbackup:0.1.0', targetNamespace: 'databases', serviceAccountAnnotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/igbackup' } },
        },
        ...extra,
      },
    },
  });
  return dir;
}

describe('schedule', () => {
  it('crontab: one flock-guarded line per job; the lines run as written, names and env file intact', async () => {
    const dir = await setup();
    const r = await runCli(['schedule', 'crontab', '--env', 'prod'], { cwd: dir, env: { PGPW: SECRET } });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').filter((l) => /^[0-9*]/.test(l));
    assert.equal(lines.length, 3);
    assert.ok(lines.every((l) => / flock -n /.test(l) && />> .*\.log 2>&1$/.test(l)));
    assert.ok(!r.stdout.includes(SECRET));
    // Run the odd-name line as cron would (sh -c after the five time fields), with a stand-in igbackup.
    await writeFile(join(dir, 'igbackup.env'), `PGPW=${SECRET}\n`);
    await writeFile(join(dir, 'fake-igbackup'), `#!/bin/sh\nprintf '%s\\n' "$@" > "${join(dir, 'args.txt')}"\necho "PGPW=$PGPW" >> "${join(dir, 'args.txt')}"\n`);
    await chmod(join(dir, 'fake-igbackup'), 0o755);
    const odd = lines.find((l) => l.includes('odd')) as string;
    await execa('sh', ['-c', odd.split(' ').slice(5).join(' ')]);
    const args = (await readFile(join(dir, 'args.txt'), 'utf8')).trim().split('\n');
    assert.deepEqual(args.slice(-4), ['prod', '--database', "it's odd", `PGPW=${SECRET}`]);
  });

  it('k8s: CronJobs and RBAC valid against the Kubernetes schemas, Forbid, deadlines, secrets by reference', async () => {
    const dir = await setup();
    const r = await runCli(['schedule', 'k8s', '--env', 'prod'], { cwd: dir, env: { PGPW: SECRET } });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(SECRET));
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Record<string, any>);
    assert.deepEqual(docs.map((d) => d.kind), ['ServiceAccount', 'Role', 'RoleBinding', 'CronJob', 'CronJob', 'CronJob']);
    for (const cj of docs.filter((d) => d.kind === 'CronJob')) {
      const { apiVersion: _a, kind: _k, ...rest } = cj;
      new CronJob(rest as never).validate();
      assert.equal(cj.spec.concurrencyPolicy, 'Forbid');
      assert.equal(cj.spec.startingDeadlineSeconds, 300);
      assert.equal(cj.spec.successfulJobsHistoryLimit, 3);
      assert.equal(cj.spec.failedJobsHistoryLimit, 5);
      const job = cj.spec.jobTemplate.spec;
      assert.equal(job.backoffLimit, 1);
      const pod = job.template.spec;
      assert.equal(pod.serviceAccountName, 'igbackup');
      assert.equal(pod.restartPolicy, 'Never');
      const c = pod.containers[0];
      assert.equal(c.image, 'registry.example/igbackup:0.1.0');
      assert.deepEqual(c.envFrom, [{ secretRef: { name: 'igbackup-secrets' } }]);
      assert.ok(!(c.env ?? []).some((e: { value?: string }) => e.value === SECRET));
      assert.equal(c.args[2], 'backup');
      assert.ok(!(pod.volumes ?? []).some((v: Record<string, unknown>) => 'emptyDir' in v), 'backups need no scratch space');
    }
    const odd = docs.find((d) => d.kind === 'CronJob' && d.spec.jobTemplate.spec.template.spec.containers[0].args.includes("it's odd"));
    assert.match(odd?.metadata.name, /^igbackup-prod-postgres-it-s-odd$/);
    assert.equal(docs[0]?.metadata.annotations['eks.amazonaws.com/role-arn'], 'arn:aws:iam::111122223333:role/igbackup');
    const role = docs.find((d) => d.kind === 'Role');
    assert.equal(role?.metadata.namespace, 'databases');
    assert.ok(role?.rules.some((x: { resources: string[] }) => x.resources.includes('pods/exec')));
    assert.ok(!role?.rules.some((x: { resources: string[] }) => x.resources.includes('statefulsets/scale')));
  });

  it('k8s: Neo4j Community in Kubernetes also gets the rights to scale and run the helper pod', async () => {
    const dir = await setup({ neo4j: { transport: { type: 'kubernetes', namespace: 'databases', pod: 'neo4j-0' }, kubernetes: { statefulSet: 'neo4j', pvc: 'data-neo4j-0', image: 'neo4j:5' } } });
    const r = await runCli(['--json', 'schedule', 'k8s', '--env', 'prod'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const objects = (JSON.parse(r.stdout) as { objects: Record<string, any>[] }).objects;
    const role = objects.find((o) => o.kind === 'Role');
    assert.ok(role?.rules.some((x: { resources: string[] }) => x.resources.includes('statefulsets/scale')));
  });

  it('nothing configured to schedule is a clear config error', async () => {
    const dir = await tempDir();
    await writeConfig(dir, { envs: { prod: { storage: { type: 'file', path: './b' }, postgres: { databases: ['a'] } } } });
    const r = await runCli(['schedule', 'crontab', '--env', 'prod'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /set envs\.prod\.schedule\.postgres/);
  });
});
