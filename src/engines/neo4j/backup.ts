// The Neo4j backup plan (data): Community dumps each database with the DBMS offline (a stopped service, or a helper pod
// on the data PVC in Kubernetes); Enterprise runs `database backup` online into a scratch dir and streams the result.

import type { Neo4jConfig } from '../../config/sections/neo4j.js';
import type { BackupPlan, Facts, Problem, Read, UnitPlan } from '../backup-plan.js';
import * as neo4j from './commands.js';

export interface Neo4jBackupInput {
  cfg: Neo4jConfig;
  units: string[];
  /** Unique per run: names the Enterprise scratch dirs. */
  stamp: string;
  env: string;
  /** --type: full, diff or auto (Enterprise); undefined: enterprise.type. */
  type?: string | undefined;
  /** Per database, the newest complete backup in the store (a differential builds on it). */
  previous?: Readonly<Record<string, { key: string; facts: Readonly<Record<string, string>> }>> | undefined;
  /** --method (Community): undefined: neo4j.method. */
  method?: 'dump' | 'tar' | undefined;
  /** -d, when given. */
  database?: string | undefined;
}

export function neo4jTools(cfg: Neo4jConfig): neo4j.Neo4jTools {
  return { admin: cfg.neo4jAdmin, syntax: cfg.syntax };
}

export function neo4jBackupPlan(x: Neo4jBackupInput): BackupPlan {
  const { cfg } = x;
  if (cfg.edition === 'enterprise') {
    const type = (x.type ?? cfg.enterprise.type) as neo4j.BackupType;
    return { units: x.units, tools: [adminVersion(cfg)], checks: [], unit: (db) => onlineUnit(x, db, type) };
  }
  const pod = cfg.transport.type === 'kubernetes' && cfg.kubernetes;
  const tar = (x.method ?? cfg.method) === 'tar';
  const refused =
    x.type !== undefined && x.type !== 'full'
      ? {
          problem: `--type ${x.type} needs Neo4j Enterprise (neo4j.edition is community)`,
          hint: 'Community has no online or differential backup: drop --type (each backup is a full offline dump)',
          config: true,
        }
      : tar && x.database !== undefined
        ? {
            problem: `-d ${x.database} with method tar: a tar backup is the whole data directory (every database)`,
            hint: 'drop -d, or take a dump of that database with --method dump',
            config: true,
          }
        : undefined;
  return {
    units: tar ? [neo4j.STORE_UNIT] : x.units,
    refused,
    // On a VM neo4j-admin must be there before Neo4j is stopped for it (in Kubernetes it is the helper pod's).
    before: pod ? [] : [adminVersion(cfg), ...(tar ? [storeDatabases(cfg.dataDir)] : [])],
    // In Kubernetes read inside the offline window, where the dump runs (the helper pod); its absence is no failure
    // for a dump.
    tools: pod
      ? [
          {
            kind: 'read',
            what: 'neo4j-admin --version',
            command: neo4j.versionCommand(neo4jTools(cfg)),
            parse: (out) => ({ 'neo4j-admin': out.trim().split('\n')[0] ?? '' }),
            // A tar restores only into the version that wrote it: without the version it is no backup.
            optional: !tar,
          },
        ]
      : [],
    checks: [],
    window:
      cfg.transport.type === 'kubernetes' && cfg.kubernetes
        ? { kind: 'kubernetes-helper-pod', workload: cfg.kubernetes }
        : { kind: 'service-stopped', service: cfg.service },
    unit: tar
      ? () => storeUnit(cfg, pod ? pod.mountPath : cfg.dataDir)
      : (db) => ({
          ...common(cfg, neo4j.DUMP_FORMAT),
          steps: [],
          artifacts: () => [{ ...artifact(db, neo4j.DUMP_EXTENSION), command: neo4j.dumpCommand(neo4jTools(cfg), db) }],
        }),
  };
}

/** The databases in the data directory (read before the stop too, on a VM: a wrong dataDir stops nothing). */
function storeDatabases(dataDir: string): Read {
  return {
    kind: 'read',
    what: `the databases in ${dataDir}`,
    command: neo4j.listStoreDatabasesCommand(dataDir),
    parse: (out): Facts | Problem => {
      const j = neo4j.judgeStoreListing(out);
      return 'problem' in j
        ? {
            problem: `${dataDir}: ${j.problem}`,
            hint: "set neo4j.dataDir to the DBMS's server.directories.data (in Kubernetes: kubernetes.mountPath), with its transaction logs under it; else back up with --method dump",
            config: true,
          }
        : { databases: j.databases.join(',') };
    },
    hint: `set neo4j.dataDir to the DBMS's data directory (server.directories.data)`,
  };
}

/**
 * tar: the stopped DBMS's whole data directory (on the host, or on the PVC in the helper pod). The databases in it
 * and its size are read first; the manifest records them, the data directory and (from the tools) the version.
 */
function storeUnit(cfg: Neo4jConfig, dataDir: string): UnitPlan {
  return {
    format: neo4j.TAR_FORMAT,
    address: undefined,
    steps: [
      storeDatabases(dataDir),
      {
        kind: 'read',
        what: `the size of ${dataDir}`,
        command: neo4j.storeSizeCommand(dataDir),
        parse: (out) => ({ storeKib: out.trim().split(/\s+/)[0] ?? '' }),
        optional: true,
      },
    ],
    sizeEstimate: (f) => (Number(f.storeKib) > 0 ? Number(f.storeKib) * 1024 : undefined),
    artifacts: () => [
      {
        role: 'dump',
        extension: neo4j.TAR_EXTENSION,
        command: neo4j.tarCreateCommand(dataDir),
        report: `archiving ${dataDir} (tar of every database, system included)`,
        producerHint: `check that ${dataDir} is Neo4j's data directory and readable by the user igbackup runs as there`,
      },
    ],
    manifestFacts: (f) => ({
      edition: cfg.edition,
      syntax: cfg.syntax,
      method: 'tar',
      databases: f.databases ?? '',
      dataDir,
    }),
  };
}

/** neo4j-admin's version where the work runs: a missing or broken neo4j-admin fails here, nothing stopped. */
function adminVersion(cfg: Neo4jConfig): Read {
  return {
    kind: 'read',
    what: `${cfg.neo4jAdmin} --version`,
    command: neo4j.versionCommand(neo4jTools(cfg)),
    parse: (out) => ({ 'neo4j-admin': out.trim().split('\n')[0] ?? '' }),
    hint: `install Neo4j's neo4j-admin where Neo4j runs, or set neo4j.neo4jAdmin to its path`,
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

/**
 * Enterprise: `database backup` online into the database's chain directory on the host (emptied first for a full
 * backup, which starts a new chain), its newest artifact streamed. The directory stays: the next differential backup
 * builds on it, and only when it ends where the store's chain does (an artifact whose upload failed is never built on).
 */
function onlineUnit(x: Neo4jBackupInput, db: string, type: neo4j.BackupType): UnitPlan {
  const { cfg } = x;
  const dir = `${cfg.enterprise.workDir.replace(/\/+$/, '')}/chain-${x.env}-${db}`;
  const t = neo4jTools(cfg);
  const prev = x.previous?.[db];
  const inStore = prev && { key: prev.key, artifact: prev.facts.neo4jArtifact };
  return {
    format: neo4j.BACKUP_FORMAT,
    address: undefined,
    steps: [
      {
        kind: 'read',
        what: `the backup chain of ${db} in ${dir}`,
        command: neo4j.listBackupsCommand(dir, db),
        parse: (out): Facts | Problem => {
          const d = neo4j.chainDecision(type, out.split('\n').filter(Boolean), inStore);
          if ('problem' in d)
            return {
              problem: d.problem,
              hint: 'take a full backup first: igbackup backup neo4j --type full (or --type auto)',
            };
          return { take: d.take, parent: d.take === 'DIFF' ? d.parent : '' };
        },
      },
      {
        kind: 'read',
        what: `the chain directory ${dir}`,
        command: (f) => (f.take === 'FULL' ? neo4j.resetDirCommand(dir) : neo4j.makeDirCommand(dir)),
        parse: () => ({}),
      },
      {
        kind: 'read',
        what: 'neo4j-admin database backup',
        report: `neo4j-admin database backup ${db} (online)`,
        command: (f) => neo4j.backupCommand(t, db, dir, cfg.enterprise.from, f.take === 'DIFF' ? 'DIFF' : 'FULL'),
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
    manifestFacts: (f) => ({
      edition: cfg.edition,
      syntax: cfg.syntax,
      backupType: f.take === 'DIFF' ? 'diff' : 'full',
      ...(f.take === 'DIFF' && f.parent ? { parent: f.parent } : {}),
      neo4jArtifact: (f.file ?? '').split('/').pop() ?? '',
    }),
    artifacts: (f) => [{ ...artifact(db, neo4j.BACKUP_EXTENSION), command: { argv: ['cat', f.file ?? ''] } }],
  };
}
