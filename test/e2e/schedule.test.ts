// schedule crontab|k8s through the CLI: one job per engine, lines that run as written (quoting, flock, env file),
// names unique per env, cron expressions refused before anything is printed, {file:} secrets mounted or refused, and
// Kubernetes manifests that pass the kubernetes-models schema validation with the fields an operator expects.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { runCli, tempDir, writeConfig } from '../helpers/cli.js';

const SECRET = 'pw-never-in-manifests';
const K8S = {
  image: 'registry.example/igbackup:0.1.0',
  targetNamespace: 'databases',
  serviceAccountAnnotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/igbackup' },
};

async function setup(extra: Record<string, unknown> = {}, schedule: Record<string, unknown> = {}): Promise<string> {
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
          kubernetes: K8S,
          ...schedule,
        },
        ...extra,
      },
    },
  });
  return dir;
}

function cronJobs(stdout: string): Record<string, any>[] {
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as Record<string, any>)
    .filter((d) => d.kind === 'CronJob');
}

describe('schedule', () => {
  it('crontab: one flock-guarded line per engine (all its databases in turn); the line runs as written, env file sourced', async () => {
    const dir = await setup();
    const r = await runCli(['schedule', 'crontab', '--env', 'prod'], { cwd: dir, env: { PGPW: SECRET } });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').filter((l) => /^[0-9*@]/.test(l));
    assert.equal(lines.length, 2);
    assert.match(
      lines[0] ?? '',
      new RegExp(
        `^0 \\* \\* \\* \\* flock -n -E 7 ${dir}/igbackup-prod-postgres\\.lock sh -c '.* backup postgres --env prod' >> ${dir}/igbackup-prod-postgres\\.log 2>&1$`,
      ),
    );
    assert.match(
      lines[1] ?? '',
      /^\*\/5 \* \* \* \* flock -n -E 7 .*\/igbackup-prod-redis\.lock .* backup redis --env prod' >> .*\/igbackup-prod-redis\.log 2>&1$/,
    );
    assert.ok(!r.stdout.includes('--database') && !r.stdout.includes(SECRET));
    await writeFile(join(dir, 'igbackup.env'), `PGPW=${SECRET}\n`);
    await writeFile(
      join(dir, 'fake-igbackup'),
      `#!/bin/sh\nprintf '%s\\n' "$@" > "${join(dir, 'args.txt')}"\necho "PGPW=$PGPW" >> "${join(dir, 'args.txt')}"\n`,
    );
    await chmod(join(dir, 'fake-igbackup'), 0o755);
    await execa('sh', ['-c', (lines[0] ?? '').split(' ').slice(5).join(' ')], {
      env: { PATH: '/usr/bin:/bin' },
      extendEnv: false,
    });
    const args = (await readFile(join(dir, 'args.txt'), 'utf8')).trim().split('\n');
    assert.deepEqual(args.slice(-6), ['--quiet', 'backup', 'postgres', '--env', 'prod', `PGPW=${SECRET}`]);
  });

  it('k8s: one CronJob per engine and RBAC, valid against the Kubernetes schemas, Forbid, deadlines, secrets by reference', async () => {
    const dir = await setup();
    const r = await runCli(['schedule', 'k8s', '--env', 'prod'], { cwd: dir, env: { PGPW: SECRET } });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(SECRET));
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Record<string, any>);
    assert.deepEqual(
      docs.map((d) => d.kind),
      ['ServiceAccount', 'Role', 'RoleBinding', 'CronJob', 'CronJob'],
    );
    assert.deepEqual(
      cronJobs(r.stdout).map((d) => d.metadata.name),
      ['igbackup-prod-postgres', 'igbackup-prod-redis'],
    );
    for (const cj of cronJobs(r.stdout)) {
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
      assert.deepEqual(c.args, [
        '--config',
        '/etc/igbackup/igbackup.yaml',
        'backup',
        cj.metadata.labels['igbackup/engine'],
        '--env',
        'prod',
      ]);
      assert.ok(
        !(pod.volumes ?? []).some((v: Record<string, unknown>) => 'emptyDir' in v),
        'backups need no scratch space',
      );
    }
    assert.equal(
      docs[0]?.metadata.annotations['eks.amazonaws.com/role-arn'],
      'arn:aws:iam::111122223333:role/igbackup',
    );
    const role = docs.find((d) => d.kind === 'Role');
    assert.equal(role?.metadata.name, 'igbackup-prod');
    assert.equal(role?.metadata.namespace, 'databases');
    assert.ok(role?.rules.some((x: { resources: string[] }) => x.resources.includes('pods/exec')));
    assert.ok(!role?.rules.some((x: { resources: string[] }) => x.resources.includes('statefulsets/scale')));
  });

  it('k8s: Neo4j Community in Kubernetes also gets the rights to scale and run the helper pod', async () => {
    const dir = await setup({
      neo4j: {
        transport: { type: 'kubernetes', namespace: 'databases', pod: 'neo4j-0' },
        kubernetes: { statefulSet: 'neo4j', pvc: 'data-neo4j-0', image: 'neo4j:5' },
      },
    });
    const r = await runCli(['--json', 'schedule', 'k8s', '--env', 'prod'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const objects = (JSON.parse(r.stdout) as { objects: Record<string, any>[] }).objects;
    const role = objects.find((o) => o.kind === 'Role');
    assert.ok(role?.rules.some((x: { resources: string[] }) => x.resources.includes('statefulsets/scale')));
  });

  it('envs "billing-db" and "billing_db" get distinct jobs, locks, logs, CronJobs and Roles', async () => {
    const dir = await tempDir();
    const env = () => ({
      storage: { type: 'file', path: './b' },
      postgres: { databases: ['app'] },
      schedule: { postgres: '@daily', logDir: dir, lockDir: dir, kubernetes: K8S },
    });
    await writeConfig(dir, { envs: { 'billing-db': env(), billing_db: env() } });
    const out: Record<string, { lines: string; names: string[] }> = {};
    for (const name of ['billing-db', 'billing_db']) {
      const c = await runCli(['schedule', 'crontab', '--env', name], { cwd: dir });
      const k = await runCli(['schedule', 'k8s', '--env', name], { cwd: dir });
      assert.equal(c.code + k.code, 0, c.stderr + k.stderr);
      const lines = c.stdout.split('\n').filter((l) => l.startsWith('@daily'));
      const names = parseAllDocuments(k.stdout)
        .map((d) => (d.toJS() as Record<string, any>).metadata.name as string)
        .slice(1);
      out[name] = { lines: (lines[0] ?? '').replace(/^.* (\S+\.lock) .* (\S+\.log) 2>&1$/, '$1 $2'), names };
    }
    assert.equal(
      out['billing-db']?.lines,
      `${dir}/igbackup-billing-db-postgres.lock ${dir}/igbackup-billing-db-postgres.log`,
    );
    assert.match(
      out.billing_db?.lines ?? '',
      /\/igbackup-billing-db-[0-9a-f]{8}-postgres\.lock .*\/igbackup-billing-db-[0-9a-f]{8}-postgres\.log$/,
    );
    assert.deepEqual(out['billing-db']?.names, [
      'igbackup-billing-db',
      'igbackup-billing-db',
      'igbackup-billing-db-postgres',
    ]);
    const hashed = out.billing_db?.names ?? [];
    assert.equal(hashed.length, 3);
    assert.ok(
      hashed.every((n) => !out['billing-db']?.names.includes(n)),
      hashed.join(),
    );
  });

  it("an env literally named like another env's hashed token is refused instead of sharing its jobs", async () => {
    const dir = await tempDir();
    const twin = `billing-db-${createHash('sha256').update('billing_db').digest('hex').slice(0, 8)}`;
    const env = {
      storage: { type: 'file', path: './b' },
      postgres: { databases: ['app'] },
      schedule: { postgres: '@daily' },
    };
    await writeConfig(dir, { envs: { billing_db: env, [twin]: env } });
    for (const name of ['billing_db', twin]) {
      const r = await runCli(['schedule', 'crontab', '--env', name], { cwd: dir });
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '');
      assert.match(
        r.stderr,
        new RegExp(
          `envs "${name}" and "(billing_db|${twin})" would share the schedule name igbackup-${twin}-<engine>[\\s\\S]*rename one of the two envs`,
        ),
      );
    }
  });

  it('a cron expression crontab or Kubernetes would reject fails every command with exit 2 and prints nothing', async () => {
    const dir = await setup({}, { postgres: '99 99 * * *' });
    for (const args of [
      ['schedule', 'crontab', '--env', 'prod'],
      ['schedule', 'k8s', '--env', 'prod'],
      ['--json', 'schedule', 'crontab', '--env', 'prod'],
      ['list', '--env', 'prod'],
    ]) {
      const r = await runCli(args, { cwd: dir });
      assert.equal(r.code, 2, args.join(' '));
      assert.match(
        r.stderr,
        /igbackup\.yaml:\d+: envs\.prod\.schedule\.postgres: "99 99 \* \* \*" is not a valid cron expression: Constraint error, got value 99 expected range 0-59/,
      );
      if (!args.includes('--json')) assert.equal(r.stdout, '');
    }
    const six = await setup({}, { redis: '0 0 * * * *' });
    const r = await runCli(['schedule', 'crontab', '--env', 'prod'], { cwd: six });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /envs\.prod\.schedule\.redis: "0 0 \* \* \* \*" has 6 fields/);
  });

  it('k8s: a {file:} secret is mounted from the Secret at its path; one the pod could not have is refused with the fix', async () => {
    const dir = await setup({
      postgres: { databases: ['app'], password: { file: '/run/secrets/igbackup/pg-password' } },
    });
    const r = await runCli(['schedule', 'k8s', '--env', 'prod'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const [pg, redis] = cronJobs(r.stdout).map((cj) => cj.spec.jobTemplate.spec.template.spec);
    assert.deepEqual(pg.volumes[1], {
      name: 'secret-files',
      secret: {
        secretName: 'igbackup-secrets',
        defaultMode: 0o400,
        items: [{ key: 'pg-password', path: 'pg-password' }],
      },
    });
    assert.deepEqual(pg.containers[0].volumeMounts[1], {
      name: 'secret-files',
      mountPath: '/run/secrets/igbackup/pg-password',
      subPath: 'pg-password',
      readOnly: true,
    });
    assert.equal(redis.volumes.length, 1, 'the Redis job reads no file');
    const c = await runCli(['schedule', 'crontab', '--env', 'prod'], { cwd: dir });
    assert.match(
      c.stdout,
      /^# {3}envs\.prod\.postgres\.password: "\/run\/secrets\/igbackup\/pg-password" \(secret\)$/m,
    );
    assert.match(c.stdout, /readable by this crontab's user/);
    const bad = await setup({ postgres: { databases: ['app'], password: { file: '/etc/igbackup/prod.pgpass' } } });
    const b = await runCli(['schedule', 'k8s', '--env', 'prod'], { cwd: bad });
    assert.equal(b.code, 2);
    assert.equal(b.stdout, '');
    assert.match(
      b.stderr,
      /envs\.prod\.postgres\.password: \/etc\/igbackup\/prod\.pgpass would have to come from the ConfigMap igbackup-config .*put the secret in the Secret igbackup-secrets/,
    );
  });

  it('nothing configured to schedule is a clear config error', async () => {
    const dir = await tempDir();
    await writeConfig(dir, {
      envs: { prod: { storage: { type: 'file', path: './b' }, postgres: { databases: ['a'] } } },
    });
    const r = await runCli(['schedule', 'crontab', '--env', 'prod'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /set envs\.prod\.schedule\.postgres/);
  });
});
