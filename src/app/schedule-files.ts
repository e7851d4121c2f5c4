// Files a scheduled backup reads where igbackup runs ({file:} secrets, SSH keys, known_hosts, kubeconfig, Redis TLS
// files when redis-cli runs here): mounted from the Secret in a CronJob, named in the crontab's comment.

import { isAbsolute, posix, resolve } from 'node:path';
import { ConfigError } from '../domain/errors.js';
import { POD_CONFIG_DIR, type SecretFileMount } from '../domain/schedule.js';
import type { EnvConfig, SecretRef, SshHopConfig, TransportConfig } from '../config/schema.js';

export interface FileRead {
  /** Config path of the setting, e.g. envs.prod.postgres.password. */
  where: string;
  path: string;
  /** Holds credentials: must never come from the ConfigMap. */
  secret: boolean;
  /** How igbackup resolves a relative path: from its working directory, or from the config file's directory. */
  base: 'cwd' | 'config';
}

/** The files the backups of `engines` read on the runner, in config order. */
export function filesRead(envName: string, env: EnvConfig, engines: string[]): FileRead[] {
  const out: FileRead[] = [];
  const ref = (where: string, r: SecretRef | undefined) => {
    if (r?.file !== undefined) out.push({ where, path: r.file, secret: true, base: 'cwd' });
  };
  const hop = (where: string, h: SshHopConfig) => {
    if (h.identityFile)
      out.push({ where: `${where}.identityFile`, path: h.identityFile, secret: true, base: 'config' });
    ref(`${where}.passphrase`, h.passphrase);
    if (h.knownHosts) out.push({ where: `${where}.knownHosts`, path: h.knownHosts, secret: false, base: 'config' });
  };
  const transport = (where: string, t: TransportConfig) => {
    if (t.type === 'ssh') {
      hop(where, t);
      if (t.jump) hop(`${where}.jump`, t.jump);
    }
    if (t.type === 'kubernetes' && t.kubeconfig)
      out.push({ where: `${where}.kubeconfig`, path: t.kubeconfig, secret: true, base: 'config' });
  };
  for (const engine of engines) {
    const at = `envs.${envName}.${engine}`;
    const section = engine === 'postgres' ? env.postgres : engine === 'redis' ? env.redis : env.neo4j;
    if (!section) continue;
    transport(`${at}.transport`, section.transport);
    if ('password' in section) ref(`${at}.password`, section.password);
    const tls = engine === 'redis' && section.transport.type === 'local' ? env.redis?.tls : undefined;
    if (tls?.caFile) out.push({ where: `${at}.tls.caFile`, path: tls.caFile, secret: false, base: 'cwd' });
    if (tls?.certFile) out.push({ where: `${at}.tls.certFile`, path: tls.certFile, secret: false, base: 'cwd' });
    if (tls?.keyFile) out.push({ where: `${at}.tls.keyFile`, path: tls.keyFile, secret: true, base: 'cwd' });
  }
  return out;
}

/** Why a path cannot be used by a scheduled job as written, or undefined. */
function relativeProblem(f: FileRead, jobDir: string): string | undefined {
  if (f.base === 'cwd' && !isAbsolute(f.path))
    return `${f.where}: "${f.path}" is relative to the working directory, which is ${jobDir} in a scheduled job; give an absolute path`;
  return undefined;
}

/** Comment lines for the crontab: every file the jobs read and who must be able to read it; relative paths refused. */
export function crontabFileNotes(files: FileRead[], configPath: string): string[] {
  const problems = files
    .map((f) => relativeProblem(f, "the crontab user's home"))
    .filter((p): p is string => p !== undefined);
  if (problems.length)
    throw new ConfigError('files the scheduled backups read must have absolute paths', problems, {
      hint: 'cron starts jobs in the home directory',
    });
  if (!files.length) return [];
  const lines = [
    "Files the jobs read: they must exist and be readable by this crontab's user (secrets: owned by it, mode 600):",
  ];
  for (const f of files) {
    const path = f.base === 'config' && !f.path.startsWith('~') ? resolve(posix.dirname(configPath), f.path) : f.path;
    lines.push(`  ${f.where}: ${JSON.stringify(path)}${f.secret ? ' (secret)' : ''}`);
  }
  return lines;
}

/**
 * Where each file comes from in the pod: a path under the config directory from the ConfigMap (never a secret), any
 * other absolute path from the Secret's key named like the file. Anything that would be missing in the pod is refused.
 */
export function podFileMounts(files: FileRead[], k: { secretName: string; configMap: string }): SecretFileMount[] {
  const problems: string[] = [];
  const byKey = new Map<string, string>();
  for (const f of files) {
    const rel = relativeProblem(f, "the image's working directory");
    if (rel) {
      problems.push(rel + (f.secret ? ', or use { env: NAME } with NAME in the Secret' : ''));
      continue;
    }
    if (f.path.startsWith('~')) {
      problems.push(
        `${f.where}: "${f.path}" names a home directory, which the pod does not have; give an absolute path`,
      );
      continue;
    }
    const path = posix.resolve(POD_CONFIG_DIR, f.path);
    if (path.startsWith(`${POD_CONFIG_DIR}/`)) {
      if (f.secret) {
        problems.push(
          `${f.where}: ${path} would have to come from the ConfigMap ${k.configMap} (mounted at ${POD_CONFIG_DIR}); put the secret in the Secret ${k.secretName} and point the config at a path outside ${POD_CONFIG_DIR}, e.g. /run/secrets/igbackup/${posix.basename(path)}`,
        );
      } else if (posix.dirname(path) !== POD_CONFIG_DIR) {
        problems.push(
          `${f.where}: ${path} lies in a subdirectory of ${POD_CONFIG_DIR}, where only the ConfigMap's (flat) keys appear; use ${POD_CONFIG_DIR}/${posix.basename(path)}`,
        );
      }
      continue;
    }
    const key = posix.basename(path);
    if (!/^[-._a-zA-Z0-9]+$/.test(key) || key === '.' || key === '..' || path === '/') {
      problems.push(
        `${f.where}: "${key}" (the file's name) cannot be a key of the Secret ${k.secretName}; rename the file (letters, digits, "-", "_", ".")`,
      );
      continue;
    }
    const other = byKey.get(key);
    if (other !== undefined && other !== path)
      problems.push(
        `${f.where}: ${path} and ${other} would both be the key "${key}" of the Secret ${k.secretName}; give the files different names`,
      );
    else byKey.set(key, path);
  }
  if (problems.length) {
    throw new ConfigError('files the scheduled backup reads cannot be provided in the pod', problems, {
      hint: `files outside ${POD_CONFIG_DIR} are mounted read-only from the Secret ${k.secretName}, each from the key named like the file`,
    });
  }
  return [...byKey].map(([key, path]) => ({ key, path }));
}
