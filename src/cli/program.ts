// The commander program: global options and one registered command per file.

import { Command } from 'commander';
import { VERSION } from '../version.js';
import { registerBackup } from './backup.js';
import type { CliDeps } from './globals.js';
import { registerDoctor } from './doctor.js';
import { registerDrill } from './drill.js';
import { registerList } from './list.js';
import { registerPitr } from './pitr.js';
import { registerRedis } from './redis.js';
import { registerPrune } from './prune.js';
import { registerRestore } from './restore.js';
import { registerSchedule } from './schedule.js';
import { registerStatus } from './status.js';
import { registerStorage } from './storage.js';
import { registerVerify } from './verify.js';

export const EXIT_CODES_HELP = `
Exit codes:
  0   success
  1   the operation failed (a dump/restore program, the SSH/kubectl connection, the object store, a full disk)
  2   usage or config error, nothing was run (bad flag or setting, no AWS credentials, --jobs > 1 over SSH/Kubernetes)
  3   integrity error (size/sha256 mismatch, an archive the engine's own reader rejects, missing or invalid manifest)
  4   not found (no such backup)
  5   confirmation required (protected env without --yes)
  6   a check found drift (redis check, storage check/init, doctor), a recovery target is breached (status) or a drill failed
  7   another run holds the lock (a backup of the same engine and env, a restore into the same target, a drill)
  69  a service is DOWN: a restore or offline backup stopped Redis/Neo4j and could not start it again
  70  internal error (a bug in igbackup; the message carries the stack for a report)
  75  the backup is archived (GLACIER/DEEP_ARCHIVE): a restore was requested, retry later (or use --wait)
  130 cancelled (SIGINT/SIGTERM)
`;

export function buildProgram(deps: CliDeps): Command {
  const program = new Command('igbackup')
    .description('verified-complete backups of PostgreSQL, Redis and Neo4j to S3 with SSE-KMS')
    .version(VERSION)
    .option(
      '-c, --config <file>',
      'config file (default: $IGBACKUP_CONFIG, ./igbackup.yaml, ~/.config/igbackup/config.yaml)',
    )
    .option('--json', 'machine-readable result on stdout')
    .option('-q, --quiet', 'only errors')
    .option('--no-color', 'no colors (NO_COLOR is honoured too)')
    .addHelpText('after', EXIT_CODES_HELP)
    .showHelpAfterError()
    .exitOverride();
  registerBackup(program, deps);
  registerRestore(program, deps);
  registerList(program, deps);
  registerRedis(program, deps);
  registerVerify(program, deps);
  registerStorage(program, deps);
  registerDoctor(program, deps);
  registerPitr(program, deps);
  registerPrune(program, deps);
  registerStatus(program, deps);
  registerSchedule(program, deps);
  registerDrill(program, deps);
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  for (const c of all(program)) c.exitOverride();
  return program;
}
