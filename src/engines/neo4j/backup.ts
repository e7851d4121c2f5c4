// The Neo4j backup plan (data): Community dumps each database with the DBMS offline (a stopped service, or a helper pod
// on the data PVC in Kubernetes); Enterprise runs `database backup` online into a scratch dir and streams the result.

import type { Neo4jConfig } from '../../config/sections/neo4j.js';
import type { BackupPlan, Facts, Problem, UnitPlan } from '../backup-plan.js';
import * as neo4j from './commands.js';

export interface Neo4jBackupInput {
  cfg: Neo4jConfig;
  units: string[];
  /** Unique per run: names the Enterprise scratch dirs. */
  stamp: string;
}

export function neo4jTools(cfg: Neo4jConfig): neo4j.Neo4jTools {
  return { admin: cfg.neo4jAdmin, syntax: cfg.syntax };
}

export function neo4jBackupPlan(x: Neo4jBackupInput): BackupPlan {
  const { cfg } = x;
  if (cfg.edition === 'enterprise') return { units: x.units, tools: [], checks: [], unit: (db) => onlineUnit(x, db) };
  return {
    units: x.units,
    // Read inside the offline window, where the dump runs (the helper pod in Kubernetes); its absence is no failure.
    tools: [
      {
        kind: 'read',
        what: 'neo4j-admin --version',
        command: neo4j.versionCommand(neo4jTools(cfg)),
        parse: (out) => ({ 'neo4j-admin': out.trim().split('\n')[0] ?? '' }),
        optional: true,
      },
    ],
    checks: [],
    window:
      cfg.transport.type === 'kubernetes' && cfg.kubernetes
        ? { kind: 'kubernetes-helper-pod', workload: cfg.kubernetes }
        : { kind: 'service-stopped', service: cfg.service },
    unit: (db) => ({
      ...common(cfg, neo4j.DUMP_FORMAT),
      steps: [],
      artifacts: () => [{ ...artifact(db, neo4j.DUMP_EXTENSION), command: neo4j.dumpCommand(neo4jTools(cfg), db) }],
    }),
  };
}

/** Recorded in the manifest; the address is where the work ran (the host, or the helper pod). */
function common(cfg: Neo4jConfig, format: string): Pick<UnitPlan, 'format' | 'manifestFacts' | 'address'> {
  return { format, address: undefined, manifestFacts: () => ({ edition: cfg.edition, syntax: cfg.syntax }) };
}

function artifact(db: string, extension: string) {
  return {
    role: 'dump' as const,
    extension,
    report: `streaming ${db} (${extension === neo4j.DUMP_EXTENSION ? neo4j.DUMP_FORMAT : neo4j.BACKUP_FORMAT})`,
    producerHint: `check neo4j-admin where Neo4j runs and that database "${db}" exists`,
  };
}

/** Enterprise: `database backup` into a scratch dir on the host, the newest artifact streamed, the dir removed. */
function onlineUnit(x: Neo4jBackupInput, db: string): UnitPlan {
  const { cfg } = x;
  const dir = `${cfg.enterprise.workDir.replace(/\/+$/, '')}/igbackup-${db}-${x.stamp}`;
  const t = neo4jTools(cfg);
  return {
    ...common(cfg, neo4j.BACKUP_FORMAT),
    steps: [
      { kind: 'read', what: `mkdir ${dir}`, command: neo4j.makeDirCommand(dir), parse: () => ({}) },
      {
        kind: 'read',
        what: 'neo4j-admin database backup',
        report: `neo4j-admin database backup ${db} (online)`,
        command: neo4j.backupCommand(t, db, dir, cfg.enterprise.from),
        parse: () => ({}),
      },
      {
        kind: 'read',
        what: `the newest ${db}-*.backup in ${dir}`,
        command: neo4j.newestBackupCommand(dir, db),
        parse: (out): Facts | Problem =>
          out.trim()
            ? { file: out.trim() }
            : { problem: `neo4j-admin database backup wrote no ${db}-*.backup into ${dir}` },
      },
    ],
    cleanup: [neo4j.removeDirCommand(dir)],
    artifacts: (f) => [{ ...artifact(db, neo4j.BACKUP_EXTENSION), command: { argv: ['cat', f.file ?? ''] } }],
  };
}
