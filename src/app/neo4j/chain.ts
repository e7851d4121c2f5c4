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
  const cat = await readCatalog(ctx, h, 'neo4j');
  const entry =
    point?.kind === 'time' && !sel.from
      ? coveringBackup(cat.backups, sel.database ?? h.env.neo4j?.databases[0] ?? 'neo4j', point.at)
      : await resolveBackup(ctx, h, 'neo4j', sel);
  if (point && entry.manifest.format !== neo4j.BACKUP_FORMAT)
    throw new ConfigError(`--to needs a Neo4j Enterprise backup; ${entry.key} is a ${entry.manifest.format}`, [], {
      hint: 'a Community dump restores as it was taken: drop --to',
    });
  if (point?.kind === 'time' && Date.parse(entry.manifest.finishedAt) < point.at.getTime())
    throw new ConfigError(
      `${entry.key} ends at ${entry.manifest.finishedAt}, before --to ${point.at.toISOString()}`,
      [],
      {
        hint: 'choose a later backup, or drop --from: igbackup picks the one whose chain holds that moment',
      },
    );
  return { entry, chain: linksTo(entry, cat.backups) };
}

/** The oldest complete Enterprise backup of `db` that ends at or after `at`. */
function coveringBackup(backups: CatalogEntry[], db: string, at: Date): CatalogEntry {
  const mine = backups.filter((b) => b.manifest.target.database === db && b.manifest.format === neo4j.BACKUP_FORMAT);
  const covering = mine.filter((b) => Date.parse(b.manifest.finishedAt) >= at.getTime());
  const pick = covering.at(-1); // newest first: the last is the oldest
  if (!pick)
    throw new ConfigError(
      `no complete Enterprise backup of "${db}" ends at or after ${at.toISOString()}${mine[0] ? ` (the newest ends at ${mine[0].manifest.finishedAt})` : ''}`,
      [],
      { hint: 'take a backup (igbackup backup neo4j --type diff), or give an earlier --to' },
    );
  return pick;
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
