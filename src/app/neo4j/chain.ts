// Neo4j Enterprise backup chains in the store: a full backup and the differential ones on it (each manifest names its
// parent). Which backup a restore `--to TIME|TX` starts from, the chain it needs (every link a complete backup), and
// that chain downloaded and restored as a directory on the Neo4j host.

import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Neo4jConfig } from '../../config/schema.js';
import { ConfigError, IntegrityError } from '../../domain/errors.js';
import * as files from '../../engines/files.js';
import { neo4jTools } from '../../engines/neo4j/backup.js';
import * as neo4j from '../../engines/neo4j/commands.js';
import { decompressStage } from '../../pipeline/compress.js';
import { feedFile } from '../../pipeline/restore-stream.js';
import { capture, captureOk } from '../../transports/run.js';
import type { Transport } from '../../transports/transport.js';
import { downloadMainArtifact } from '../artifact.js';
import { readCatalog, resolveBackup, type CatalogEntry } from '../catalog.js';
import type { AppContext, EnvHandle } from '../context.js';

/** What `restore neo4j --to` names: a moment (as neo4j-admin takes it) or a transaction id. */
export type RecoveryPoint = { kind: 'time'; at: Date; until: string } | { kind: 'tx'; until: string };

/** Parses --to (pure): an ISO time with a zone, or a transaction id; a ConfigError naming the forms otherwise. */
export function recoveryPoint(to: string, now: Date): RecoveryPoint {
  if (/^\d+$/.test(to)) return { kind: 'tx', until: to };
  const at = /(Z|[+-]\d{2}:?\d{2})$/.test(to) ? new Date(to) : new Date(NaN);
  if (Number.isNaN(at.getTime()))
    throw new ConfigError(`--to ${to} is neither a time with a zone nor a transaction id`, [], {
      hint: 'give e.g. --to 2026-11-27T10:15:00Z, or a transaction id (digits) from the Neo4j log',
    });
  if (at.getTime() > now.getTime())
    throw new ConfigError(`--to ${to} is in the future`, [], { hint: 'give a moment that has passed' });
  // neo4j-admin takes "YYYY-MM-DD HH:MM:SS" (UTC) for --restore-until.
  return { kind: 'time', at, until: at.toISOString().slice(0, 19).replace('T', ' ') };
}

/**
 * The backup a restore starts from and the chain it needs, oldest first (the full backup first, the chosen one last).
 * With --to TIME and no --from: the oldest complete backup of the database that ends at or after TIME (its chain
 * holds TIME); with --from: that backup, which must end at or after TIME.
 */
export async function chainFor(
  ctx: AppContext,
  h: EnvHandle,
  sel: { from?: string | undefined; latest?: boolean | undefined; database?: string | undefined },
  point: RecoveryPoint | undefined,
): Promise<{ entry: CatalogEntry; chain: CatalogEntry[] }> {
  if (point?.kind === 'time' && !sel.from)
    return coveringChain((await readCatalog(ctx, h, 'neo4j')).backups, databaseOf(h, sel.database), point.at);
  const entry = await resolveBackup(
    ctx,
    h,
    'neo4j',
    sel.latest ? { ...sel, database: databaseOf(h, sel.database) } : sel,
  );
  if (point && entry.manifest.format !== neo4j.BACKUP_FORMAT)
    throw new ConfigError(`--to needs a Neo4j Enterprise backup; ${entry.key} is a ${entry.manifest.format}`, [], {
      hint: 'a Community dump restores as it was taken: drop --to',
    });
  // A backup with no parent (every Community dump, every full backup) is a chain of one: no catalog to read.
  const chain =
    entry.manifest.tools.parent === undefined ? [entry] : linksTo(entry, (await readCatalog(ctx, h, 'neo4j')).backups);
  if (point?.kind === 'time') {
    const why = uncovered(chain, point.at);
    if (why)
      throw new ConfigError(`--to ${point.at.toISOString()}: the chain of ${entry.key} ${why}`, [], {
        hint: 'drop --from: igbackup picks the chain that holds that moment',
      });
  }
  return { entry, chain };
}

/**
 * The one unit a restore without --from means: -d, the whole DBMS (_dbms) where the env backs up with tar, or the only
 * configured database (several: exit 2).
 */
function databaseOf(h: EnvHandle, database: string | undefined): string {
  const all = h.env.neo4j?.databases ?? ['neo4j'];
  if (database !== undefined) return database;
  if (h.env.neo4j?.method === 'tar') return neo4j.STORE_UNIT;
  if (all.length === 1) return all[0] as string;
  throw new ConfigError(
    `env "${h.name}" backs up several Neo4j databases (${all.join(', ')}): say which to restore`,
    [],
    {
      hint: `pass -d ${all.join('|')}`,
    },
  );
}

/** Why a chain cannot be recovered to `at` (it ends before, or its full backup ended after it), or undefined. */
function uncovered(chain: CatalogEntry[], at: Date): string | undefined {
  const last = chain.at(-1) as CatalogEntry;
  const first = chain[0] as CatalogEntry;
  if (Date.parse(last.manifest.finishedAt) < at.getTime()) return `ends at ${last.manifest.finishedAt}, before it`;
  if (Date.parse(first.manifest.finishedAt) > at.getTime())
    return `starts with the full backup ${first.key}, which ended at ${first.manifest.finishedAt}, after it`;
  return undefined;
}

/**
 * The chain that holds `at`: from the oldest complete Enterprise backup of `db` ending at or after it, the first whose
 * full backup had ended by then. None: exit 2 naming the moments that can be reached.
 */
function coveringChain(backups: CatalogEntry[], db: string, at: Date): { entry: CatalogEntry; chain: CatalogEntry[] } {
  const mine = backups.filter((b) => b.manifest.target.database === db && b.manifest.format === neo4j.BACKUP_FORMAT);
  const ending = mine.filter((b) => Date.parse(b.manifest.finishedAt) >= at.getTime()).reverse(); // oldest first
  for (const entry of ending) {
    const chain = linksTo(entry, backups);
    if (!uncovered(chain, at)) return { entry, chain };
  }
  const fulls = mine.filter((b) => b.manifest.tools.parent === undefined).map((b) => b.manifest.finishedAt);
  throw new ConfigError(`no complete Enterprise backup chain of "${db}" holds ${at.toISOString()}`, [], {
    hint: mine.length
      ? `a chain reaches from its full backup's end to its newest backup's end; full backups ended at ${fulls.sort().join(', ') || 'none'}, the newest backup at ${mine[0]?.manifest.finishedAt}`
      : 'take a backup first (igbackup backup neo4j --type full)',
  });
}

/** The chain from its full backup to `entry`, each link a complete backup (the catalog drops broken chains). */
function linksTo(entry: CatalogEntry, backups: CatalogEntry[]): CatalogEntry[] {
  const byKey = new Map(backups.map((b) => [b.key, b]));
  const chain = [entry];
  for (let at = entry; at.manifest.tools.parent !== undefined;) {
    const parent = byKey.get(at.manifest.tools.parent);
    if (!parent || chain.length > 10_000)
      throw new IntegrityError(`the backup chain of ${entry.key} is broken at ${at.key}`, {
        hint: 'choose another backup (igbackup list neo4j): its chain must reach a full backup',
      });
    chain.unshift(parent);
    at = parent;
  }
  return chain;
}

/** Downloads every link of a chain, verified, as the file neo4j-admin named it (the restore reads them as a chain). */
export async function downloadChain(
  ctx: AppContext,
  h: EnvHandle,
  chain: CatalogEntry[],
  dir: string,
): Promise<{ name: string; path: string }[]> {
  const out: { name: string; path: string }[] = [];
  for (const [i, link] of chain.entries()) {
    const path = join(dir, `chain-${i}`);
    await downloadMainArtifact(ctx, h.store, link.manifest, path);
    out.push({ name: artifactName(link, i), path });
  }
  return out;
}

/** The file name neo4j-admin gave a link's artifact (a restore of a chain reads them by name); checked. */
function artifactName(link: CatalogEntry, i: number): string {
  const name = link.manifest.tools.neo4jArtifact || `${link.manifest.target.database}-${i}${neo4j.BACKUP_EXTENSION}`;
  if (!/^[A-Za-z0-9._:-]+$/.test(name))
    throw new IntegrityError(`${link.key} names its artifact "${name}", not a file name`, {
      hint: 'its manifest is not what igbackup writes; choose another backup (igbackup list neo4j)',
    });
  return name;
}

/**
 * What a throwaway DBMS restores a backup from (verify, drill): the downloaded artifact itself, or, for a differential
 * backup, a directory holding its whole chain (the artifact at `path` and its ancestors, downloaded and verified).
 */
export async function scratchSource(
  ctx: AppContext,
  h: EnvHandle,
  entry: CatalogEntry,
  path: string,
  dir: string,
): Promise<string> {
  if (entry.manifest.format !== neo4j.BACKUP_FORMAT || entry.manifest.tools.parent === undefined) return path;
  const chain = linksTo(entry, (await readCatalog(ctx, h, 'neo4j')).backups);
  const out = join(dir, 'chain');
  await mkdir(out, { recursive: true });
  for (const [i, link] of chain.entries()) {
    const file = join(out, artifactName(link, i));
    if (link.key === entry.key) await copyFile(path, file);
    else await downloadMainArtifact(ctx, h.store, link.manifest, file);
  }
  return out;
}

/** Enterprise: the chain's artifacts placed on the host under their names, `database restore` of the directory. */
export async function restoreBackupChain(
  ctx: AppContext,
  cfg: Neo4jConfig,
  where: Transport,
  db: string,
  links: { name: string; path: string }[],
  until: string | undefined,
): Promise<void> {
  const dir = `${cfg.enterprise.workDir.replace(/\/+$/, '')}/igbackup-restore-${Date.now()}`;
  await captureOk(where, neo4j.makeDirCommand(dir));
  try {
    for (const l of links) {
      const writer = where.start(files.placeFileCommand(`${dir}/${l.name}`));
      writer.stdout.resume();
      await feedFile(l.path, decompressStage('none', ctx.runner), writer);
    }
    await captureOk(where, neo4j.restoreCommand(neo4jTools(cfg), db, dir, until));
  } finally {
    await capture(where, neo4j.removeDirCommand(dir));
  }
}
