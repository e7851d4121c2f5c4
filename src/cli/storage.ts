// `igbackup storage init|check`: set up and audit the env's bucket (versioning, SSE-KMS, lifecycle, policy).

import { Option, type Command } from 'commander';
import { POLICY_ROLES, type PolicyRole } from '../domain/s3-policy.js';
import type { StorageReport } from '../app/storage.js';
import { DriftError, StorageError } from '../domain/errors.js';
import { table } from './format.js';
import { buildContext, globalsOf, type CliDeps } from './globals.js';
import type { Output } from './output.js';

function render(out: Output, title: string, r: StorageReport): void {
  const paint = (s: string): string =>
    s === 'ok' || s === 'applied'
      ? out.c.green(s)
      : s === 'drift' || s === 'failed'
        ? out.c.red(s)
        : s === 'unsupported' || s === 'planned'
          ? out.c.yellow(s)
          : s;
  const rows = table([['ITEM', 'STATUS', 'DETAIL'], ...r.items.map((i) => [i.item, i.status, i.detail])]).split('\n');
  out.text(
    `${title} s3://${r.bucket} (env ${r.env})\n${rows.map((l, i) => (i === 0 ? l : l.replace(/\b(ok|applied|drift|failed|unsupported|planned)\b/, paint))).join('\n')}`,
  );
}

export function registerStorage(program: Command, deps: CliDeps): void {
  const storage = program.command('storage').description("set up and audit the env's bucket");
  storage
    .command('init')
    .description(
      'create the bucket if missing, enable versioning, default SSE-KMS, lifecycle (Glacier, abort incomplete uploads, noncurrent expiry), block public access, bucket policy; idempotent',
    )
    .requiredOption('-e, --env <name>', 'environment from the config')
    .option('--dry-run', 'print the plan, change nothing')
    .action(async (flags: { env: string; dryRun?: boolean }, cmd: Command) => {
      const g = globalsOf(cmd);
      const out = deps.output(g);
      const ctx = await buildContext(deps, g, out);
      const r = await (
        await import('../app/storage.js')
      ).storageInit(ctx, { env: flags.env, dryRun: Boolean(flags.dryRun) });
      out.json({ command: 'storage init', dryRun: Boolean(flags.dryRun), ...r });
      render(out, flags.dryRun ? 'plan for' : 'set up', r);
      throwIfNotOk(r, 'some steps failed');
    });
  storage
    .command('check')
    .description(
      'audit the bucket against the config (ok / drift / unsupported) and make a real multipart upload with the KMS key; exit 6 on drift',
    )
    .requiredOption('-e, --env <name>', 'environment from the config')
    .action(async (flags: { env: string }, cmd: Command) => {
      const g = globalsOf(cmd);
      const out = deps.output(g);
      const ctx = await buildContext(deps, g, out);
      const r = await (await import('../app/storage.js')).storageCheck(ctx, flags);
      out.json({ command: 'storage check', ...r });
      render(out, 'audit of', r);
      throwIfNotOk(r, 'drift');
    });
  registerPolicy(storage, deps);
}

/** `storage policy`: a role's least-privilege policy, printed (never applied). */
function registerPolicy(storage: Command, deps: CliDeps): void {
  storage
    .command('policy')
    .description(
      "print a role's least-privilege policy for the env's prefix and KMS key: backup (write, read, list; never delete), restore (read), prune (delete), admin (bucket set-up)",
    )
    .requiredOption('-e, --env <name>', 'environment from the config')
    .addOption(new Option('--role <role>', 'whose policy').choices([...POLICY_ROLES]).makeOptionMandatory())
    .addOption(
      new Option(
        '--format <format>',
        "aws: the IAM identity policy (attach it to the role's IAM user or role); json: that and the bucket-policy form for S3-compatible servers",
      )
        .choices(['aws', 'json'])
        .default('aws'),
    )
    .option(
      '--principal <arn...>',
      'json: the users the bucket-policy form grants to (RADOS Gateway: arn:aws:iam:::user/<uid>)',
    )
    .action(
      async (flags: { env: string; role: PolicyRole; format: 'aws' | 'json'; principal?: string[] }, cmd: Command) => {
        const g = globalsOf(cmd);
        const out = deps.output(g);
        const ctx = await buildContext(deps, g, out);
        const p = (await import('../app/storage-policy.js')).storagePolicy(ctx, {
          env: flags.env,
          role: flags.role,
          principals: flags.principal,
        });
        out.json({ command: 'storage policy', ...p });
        out.text(
          JSON.stringify(
            flags.format === 'aws'
              ? p.identityPolicy
              : { identityPolicy: p.identityPolicy, bucketPolicy: p.bucketPolicy },
            null,
            2,
          ),
        );
      },
    );
}

/**
 * An item that could not be read or applied (the endpoint, credentials, a timeout) is an operation failure (exit 1),
 * not drift: only items found different from the config are drift (exit 6).
 */
function throwIfNotOk(
  r: { ok: boolean; items: { item: string; status: string; detail: string }[] },
  what: string,
): void {
  if (r.ok) return;
  const list = (status: string): string =>
    r.items
      .filter((i) => i.status === status)
      .map((i) => `${i.item} (${i.detail})`)
      .join('; ');
  if (r.items.some((i) => i.status === 'failed'))
    throw new StorageError(`could not check or apply: ${list('failed')}`, {
      hint: 'see each item: the endpoint, the credentials or the permissions',
    });
  throw new DriftError(`${what}: ${list('drift')}`);
}
