// Schedules without servers: unique and valid job/lock/log names, cron expressions both crontab and Kubernetes accept,
// files the jobs read ({file:} secrets, keys) mounted in the pod or named in the crontab, CronJobs valid by schema.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { stringify } from 'yaml';
import { cronProblem } from '../../../src/config/cron.js';
import { validateConfigText } from '../../../src/config/validate.js';
import { envSchema, type EnvConfig } from '../../../src/config/schema.js';
import { cronJob, crontab, envToken, rbac, scheduleName, type K8sSettings } from '../../../src/domain/schedule.js';
import { crontabFileNotes, filesRead, podFileMounts } from '../../../src/app/schedule-files.js';

/** The crontab settings the tests share (notes aside). */
const CRONTAB = {
  env: 'prod',
  bin: '/b/igbackup',
  configPath: '/c.yaml',
  envFile: '/e',
  pruneEnvFile: '/e-prune',
  logDir: '/l',
  lockDir: '/k',
};

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

function k8sSettings(extra: Partial<K8sSettings> = {}): K8sSettings {
  return {
    env: 'prod',
    namespace: 'igbackup',
    image: 'registry.example/igbackup:1',
    serviceAccount: 'igbackup',
    serviceAccountAnnotations: {},
    secretName: 'igbackup-secrets',
    pruneServiceAccountAnnotations: {},
    prunes: false,
    configMap: 'igbackup-config',
    targetNamespace: 'databases',
    startingDeadlineSeconds: 300,
    backoffLimit: 1,
    successfulJobsHistoryLimit: 3,
    failedJobsHistoryLimit: 5,
    activeDeadlineSeconds: 3600,
    resources: { requests: {}, limits: {} },
    needsWorkloadRights: false,
    ...extra,
  };
}

function env(section: unknown): EnvConfig {
  return envSchema.parse({ storage: { type: 'file', path: '/b' }, ...(section as object) });
}

describe('schedule names', () => {
  it('differ for envs that only differ in "_"/"-", case, doubled or trailing dashes, and long shared prefixes', () => {
    const long = 'a'.repeat(40);
    const envs = [
      'billing-db',
      'billing_db',
      'billing--db',
      'billing-db-',
      'billing.db',
      'Sales',
      'sales',
      'SALES',
      '_',
      '__',
      'x',
      long,
      `${long}b`,
      `${long}c`,
      'a'.repeat(63),
    ];
    for (const engine of ['postgres', 'redis', 'neo4j', undefined]) {
      const names = envs.map((e) => scheduleName(e, engine));
      assert.equal(new Set(names).size, envs.length, names.join('\n'));
      for (const n of names) {
        assert.match(n, DNS_LABEL);
        assert.ok(n.length <= 52, `${n} is ${n.length} long`);
      }
    }
  });

  it('keep a plain env name as it is; add the first 8 hex digits of sha256(exact name) otherwise', () => {
    assert.equal(scheduleName('prod', 'postgres'), 'igbackup-prod-postgres');
    assert.equal(scheduleName('prod'), 'igbackup-prod');
    const h = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 8);
    assert.equal(scheduleName('billing_db', 'redis'), `igbackup-billing-db-${h('billing_db')}-redis`);
    assert.equal(envToken('Sales'), `sales-${h('Sales')}`);
    assert.equal(envToken('__'), h('__'));
    const long = 'team-'.repeat(10);
    assert.equal(envToken(long), `${long.slice(0, 25).replace(/-+$/, '')}-${h(long)}`);
    assert.equal(envToken('billing_db'), envToken('billing_db'), 'stable');
  });

  it('stay unique and valid over many env names the config accepts', () => {
    const alphabet = 'ab-_0';
    const seen = new Map<string, string>();
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % alphabet.length;
    for (let i = 0; i < 5000; i++) {
      const len = 1 + (i % 63);
      let name = 'a';
      while (name.length < len) name += alphabet[rnd()];
      if (!validateConfigText(`envs:\n  "${name}":\n    storage: {type: file, path: x}\n`, 'c').ok) continue;
      const job = scheduleName(name, 'postgres');
      assert.match(job, DNS_LABEL);
      assert.ok(job.length <= 52);
      const before = seen.get(job);
      assert.ok(before === undefined || before === name, `${before} and ${name} share ${job}`);
      seen.set(job, name);
    }
    assert.ok(seen.size > 1000);
  });
});

describe('cron expressions', () => {
  it('accept five fields and the macros crontab, Kubernetes and cron-parser share', () => {
    for (const ok of [
      '0 * * * *',
      '*/5 * * * *',
      '15 2 * * 1-5',
      '0 0 1,15 * *',
      '0 3 * jan *',
      '0 3 * * SUN',
      '0-30/10 8-18 * * 0',
      '@daily',
      '@hourly',
      '@weekly',
      '@monthly',
      '@yearly',
      '@annually',
      '  0 * * * *  ',
    ]) {
      assert.equal(cronProblem(ok), undefined, ok);
    }
  });

  it('refuse out-of-range values with the parser reason', () => {
    assert.match(cronProblem('99 99 * * *') ?? '', /Constraint error, got value 99 expected range 0-59/);
    assert.match(cronProblem('0 24 * * *') ?? '', /expected range 0-23/);
    assert.match(cronProblem('0 0 0 * *') ?? '', /expected range 1-31/);
    assert.match(cronProblem('0 0 * 13 *') ?? '', /expected range 1-12/);
    assert.match(cronProblem('*/0 * * * *') ?? '', /cannot repeat at every 0/);
    assert.match(cronProblem('5-1 * * * *') ?? '', /Invalid range/);
    assert.match(cronProblem('0 0 30 2 *') ?? '', /day of month/);
  });

  it('refuse the wrong number of fields and syntax only one of crontab/Kubernetes/cron-parser knows', () => {
    assert.match(cronProblem('* * * *') ?? '', /has 4 fields; a schedule needs exactly five/);
    assert.match(cronProblem('0 * * * * *') ?? '', /has 6 fields/);
    assert.match(cronProblem('') ?? '', /has 1 field;/);
    assert.match(cronProblem('@midnight') ?? '', /use one of @hourly/);
    assert.match(cronProblem('@reboot') ?? '', /not a schedule macro/);
    assert.match(cronProblem('0 0 * * 7') ?? '', /use 0/);
    assert.match(cronProblem('0 0 * * 5-7') ?? '', /use 0/);
    assert.equal(cronProblem('0 0 * * */7'), undefined, 'a step of 7 is not a day');
    assert.match(cronProblem('0 0 L * *') ?? '', /no L, W or H/);
    assert.match(cronProblem('H * * * *') ?? '', /letters are not accepted/);
    assert.match(cronProblem('0 0 ? * *') ?? '', /"\?" and "#"/);
    assert.match(cronProblem('0 0 * * 1#2') ?? '', /"\?" and "#"/);
    assert.match(cronProblem('5/15 * * * *') ?? '', /write 5-59\/15/);
    assert.match(cronProblem('0 0 * * mon-fri') ?? '', /names are accepted only alone/);
  });

  it('are checked when the config loads: path, line and reason', () => {
    const r = validateConfigText(
      'envs:\n  prod:\n    storage: {type: file, path: x}\n    postgres: {databases: [a]}\n    schedule:\n      postgres: "99 99 * * *"\n',
      'c.yaml',
    );
    assert.equal(r.ok, false);
    assert.match(
      r.ok ? '' : r.problems.join('\n'),
      /^c\.yaml:6: envs\.prod\.schedule\.postgres: "99 99 \* \* \*" is not a valid cron expression: Constraint error/,
    );
  });

  it('a schedule for an engine the env does not configure is a config error; crontab paths must be absolute', () => {
    const r = validateConfigText(
      'envs:\n  prod:\n    storage: {type: file, path: x}\n    postgres: {databases: [a]}\n    schedule: {postgres: "@daily", redis: "@daily", logDir: logs}\n',
      'c.yaml',
    );
    const text = r.ok ? '' : r.problems.join('\n');
    assert.match(text, /envs\.prod\.schedule\.logDir: must be an absolute path/);
    const r2 = validateConfigText(
      'envs:\n  prod:\n    storage: {type: file, path: x}\n    postgres: {databases: [a]}\n    schedule: {postgres: "@daily", redis: "@daily"}\n',
      'c.yaml',
    );
    assert.match(r2.ok ? '' : r2.problems.join('\n'), /envs\.prod\.schedule\.redis: the env has no redis section/);
  });
});

describe('files the scheduled jobs read', () => {
  const e = env({
    postgres: {
      databases: ['a'],
      password: { file: '/run/secrets/igbackup/pgpass' },
      transport: {
        type: 'ssh',
        host: 'db',
        user: 'u',
        identityFile: '/keys/id_ed25519',
        passphrase: { file: '/run/secrets/igbackup/pgpass' },
        knownHosts: 'known_hosts',
        jump: { host: 'j', user: 'u', identityFile: '/keys/jump' },
      },
    },
    redis: { password: { env: 'RPW' }, tls: { caFile: '/tls/ca.pem', keyFile: '/tls/client.key' } },
    neo4j: { transport: { type: 'kubernetes', pod: 'neo4j-0', kubeconfig: '/kube/config' } },
  });

  it('are collected per scheduled engine with their config path (Redis TLS only when redis-cli runs here)', () => {
    const files = filesRead('prod', e, ['postgres', 'redis', 'neo4j']);
    assert.deepEqual(
      files.map((f) => `${f.where}=${f.path}${f.secret ? '*' : ''}`),
      [
        'envs.prod.postgres.transport.identityFile=/keys/id_ed25519*',
        'envs.prod.postgres.transport.passphrase=/run/secrets/igbackup/pgpass*',
        'envs.prod.postgres.transport.knownHosts=known_hosts',
        'envs.prod.postgres.transport.jump.identityFile=/keys/jump*',
        'envs.prod.postgres.password=/run/secrets/igbackup/pgpass*',
        'envs.prod.redis.tls.caFile=/tls/ca.pem',
        'envs.prod.redis.tls.keyFile=/tls/client.key*',
        'envs.prod.neo4j.transport.kubeconfig=/kube/config*',
      ],
    );
    assert.deepEqual(filesRead('prod', e, ['redis']).length, 2);
    const remote = env({
      redis: {
        transport: { type: 'ssh', host: 'h', user: 'u', hostKeyFingerprint: `SHA256:${'A'.repeat(43)}` },
        tls: { keyFile: '/tls/k' },
      },
    });
    assert.deepEqual(filesRead('prod', remote, ['redis']), [], 'TLS files are read on the Redis host then');
  });

  it('in a pod: mounted from the Secret by file name (one mount per path); ConfigMap files left alone', () => {
    const mounts = podFileMounts(filesRead('prod', e, ['postgres', 'redis', 'neo4j']), {
      secretName: 's',
      configMap: 'c',
    });
    assert.deepEqual(mounts, [
      { key: 'id_ed25519', path: '/keys/id_ed25519' },
      { key: 'pgpass', path: '/run/secrets/igbackup/pgpass' },
      { key: 'jump', path: '/keys/jump' },
      { key: 'ca.pem', path: '/tls/ca.pem' },
      { key: 'client.key', path: '/tls/client.key' },
      { key: 'config', path: '/kube/config' },
    ]);
  });

  it('in a pod: relative, home, ConfigMap-located secrets and clashing file names are refused with how to fix them', () => {
    const bad = env({
      postgres: {
        databases: ['a'],
        password: { file: 'pgpass' },
        transport: {
          type: 'ssh',
          host: 'h',
          user: 'u',
          identityFile: 'id_key',
          knownHosts: 'hosts/known',
          passphrase: { file: '/etc/igbackup/pass' },
        },
      },
      redis: { password: { file: '~/.redispw' }, tls: { keyFile: '/a/pgpass' } },
      neo4j: { transport: { type: 'kubernetes', pod: 'n', kubeconfig: '~/.kube/config' } },
    });
    assert.throws(
      () =>
        podFileMounts(filesRead('prod', bad, ['postgres', 'redis', 'neo4j']), {
          secretName: 'igbackup-secrets',
          configMap: 'igbackup-config',
        }),
      (err: Error & { problems: string[] }) => {
        const p = err.problems.join('\n');
        assert.match(err.message, /cannot be provided in the pod/);
        assert.match(p, /postgres\.password: "pgpass" is relative .*absolute path, or use \{ env: NAME \}/);
        assert.match(
          p,
          /identityFile: \/etc\/igbackup\/id_key would have to come from the ConfigMap igbackup-config .* Secret igbackup-secrets/,
        );
        assert.match(p, /passphrase: \/etc\/igbackup\/pass would have to come from the ConfigMap/);
        assert.match(p, /knownHosts: \/etc\/igbackup\/hosts\/known lies in a subdirectory/);
        assert.match(p, /redis\.password: "~\/\.redispw" is relative/);
        assert.match(p, /kubeconfig: "~\/\.kube\/config" names a home directory/);
        assert.equal(err.problems.length, 6);
        return true;
      },
    );
    const clash = env({
      postgres: { databases: ['a'], password: { file: '/a/pw' } },
      redis: { password: { file: '/b/pw' } },
    });
    assert.throws(
      () => podFileMounts(filesRead('prod', clash, ['postgres', 'redis']), { secretName: 's', configMap: 'c' }),
      (err: Error & { problems: string[] }) =>
        /\/b\/pw and \/a\/pw would both be the key "pw"/.test(err.problems.join()),
    );
  });

  it('in a crontab: named with the user who must read them; relative secret files refused', () => {
    const notes = crontabFileNotes(filesRead('prod', e, ['postgres']), '/etc/igbackup/igbackup.yaml');
    assert.match(notes[0] ?? '', /readable by this crontab's user/);
    assert.ok(notes.includes('  envs.prod.postgres.password: "/run/secrets/igbackup/pgpass" (secret)'));
    assert.ok(
      notes.includes('  envs.prod.postgres.transport.knownHosts: "/etc/igbackup/known_hosts"'),
      notes.join('\n'),
    );
    const rel = env({ postgres: { databases: ['a'], password: { file: 'pgpass' } } });
    assert.throws(
      () => crontabFileNotes(filesRead('prod', rel, ['postgres']), '/etc/igbackup/igbackup.yaml'),
      (err: Error & { problems: string[] }) =>
        /"pgpass" is relative to the working directory, which is the crontab user's home in a scheduled job/.test(
          err.problems.join(),
        ),
    );
    const text = crontab([{ engine: 'postgres', cron: '0 * * * *' }], { ...CRONTAB, notes });
    assert.ok(text.split('\n').filter((l) => l.startsWith('#  ')).length >= 3);
    assert.match(
      text,
      /^0 \* \* \* \* flock -n -E 7 \/k\/igbackup-prod-postgres\.lock sh -c '.*backup postgres --env prod' >> \/l\/igbackup-prod-postgres\.log 2>&1$/m,
    );
  });

  it('the CronJob with its mounts passes the Kubernetes schema (kubernetes-models); mode 0400, read-only', () => {
    const files = [{ key: 'pgpass', path: '/run/secrets/igbackup/pgpass' }];
    const cj = cronJob({ engine: 'postgres', cron: '@daily' }, k8sSettings({ env: 'billing_db' }), files) as Record<
      string,
      any
    >;
    const { apiVersion: _a, kind: _k, ...rest } = cj;
    new CronJob(rest as never).validate();
    const pod = cj.spec.jobTemplate.spec.template.spec;
    assert.deepEqual(pod.volumes[1], {
      name: 'secret-files',
      secret: { secretName: 'igbackup-secrets', defaultMode: 0o400, items: [{ key: 'pgpass', path: 'pgpass' }] },
    });
    assert.deepEqual(pod.containers[0].volumeMounts[1], {
      name: 'secret-files',
      mountPath: '/run/secrets/igbackup/pgpass',
      subPath: 'pgpass',
      readOnly: true,
    });
    assert.equal(cj.metadata.name, scheduleName('billing_db', 'postgres'));
    assert.equal(cj.metadata.annotations['igbackup/env'], 'billing_db');
    assert.deepEqual(pod.containers[0].args, [
      '--config',
      '/etc/igbackup/igbackup.yaml',
      'backup',
      'postgres',
      '--env',
      'billing_db',
    ]);
    assert.ok(!stringify(cj).includes('*a'), 'no YAML aliases in the printed manifest');
    const plain = cronJob({ engine: 'redis', cron: '0 * * * *' }, k8sSettings()) as Record<string, any>;
    assert.equal(plain.spec.jobTemplate.spec.template.spec.volumes.length, 1, 'no Secret volume without files');
  });

  it('the prune job runs with its own identity: its env file on a VM, its ServiceAccount and Secret in Kubernetes', () => {
    const prune = {
      engine: 'prune',
      name: 'prune',
      cron: '30 4 * * *',
      args: ['prune', '--env', 'prod', '--yes'],
      role: 'prune' as const,
    };
    const text = crontab([{ engine: 'postgres', cron: '0 * * * *' }, prune], { ...CRONTAB, notes: [] });
    const lines = text.split('\n');
    assert.match(lines.find((l) => l.includes('backup postgres')) ?? '', /\. \/e; set \+a/);
    assert.match(
      lines.find((l) => l.includes(' prune ')) ?? '',
      /^30 4 \* \* \* .*\. \/e-prune; set \+a; exec \/b\/igbackup --config \/c.yaml --quiet prune --env prod --yes/,
    );

    const s = k8sSettings({
      prunes: true,
      pruneServiceAccountAnnotations: { 'eks.amazonaws.com/role-arn': 'arn:prune' },
    });
    const job = cronJob(prune, s) as {
      spec: { jobTemplate: { spec: { template: { spec: Record<string, unknown> } } } };
    };
    const pod = job.spec.jobTemplate.spec.template.spec as {
      serviceAccountName: string;
      containers: { envFrom: { secretRef: { name: string } }[]; args: string[] }[];
    };
    assert.equal(pod.serviceAccountName, 'igbackup-prune');
    assert.deepEqual(pod.containers[0]!.envFrom, [{ secretRef: { name: 'igbackup-secrets-prune' } }]);
    assert.deepEqual(pod.containers[0]!.args.slice(-4), ['prune', '--env', 'prod', '--yes']);
    const backup = cronJob({ engine: 'postgres', cron: '0 * * * *' }, s) as typeof job;
    assert.equal(
      (backup.spec.jobTemplate.spec.template.spec as { serviceAccountName: string }).serviceAccountName,
      'igbackup',
    );
    const accounts = rbac(s).filter((o) => o.kind === 'ServiceAccount') as {
      metadata: { name: string; annotations: unknown };
    }[];
    assert.deepEqual(
      accounts.map((a) => [a.metadata.name, a.metadata.annotations]),
      [
        ['igbackup', {}],
        ['igbackup-prune', { 'eks.amazonaws.com/role-arn': 'arn:prune' }],
      ],
    );
    const binding = rbac(s).find((o) => o.kind === 'RoleBinding') as { subjects: { name: string }[] };
    assert.deepEqual(
      binding.subjects.map((x) => x.name),
      ['igbackup'],
      'the prune account reaches no database',
    );
  });
});
