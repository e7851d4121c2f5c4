// Which PostgreSQL client may work with which server and archive (pure): a client of an older major than the server,
// or a pg_restore older than the pg_dump that made the archive, is named with the package to install.

/** The major version a client's version string starts with ("15.18" -> 15); NaN when it has none. */
function majorOf(version: string | undefined): number {
  return Number(/^(\d+)/.exec(version ?? '')?.[1]);
}

/**
 * A client program older than the server, as a problem naming the package to install (undefined: fine). pg_dump refuses
 * a newer server; pg_restore and psql of an older major miss what the newer server's catalog holds. A newer client
 * works with every older server, so the newest major is the one to install.
 */
export function clientTooOld(
  program: string,
  clientVersion: string | undefined,
  serverVersionNum: number,
  where: { host: string; server: string },
): { problem: string; hint: string } | undefined {
  const client = majorOf(clientVersion);
  const server = Math.floor(serverVersionNum / 10000);
  if (!Number.isInteger(client) || !Number.isInteger(server) || server < 10 || client >= server) return undefined;
  return {
    problem: `${program} ${clientVersion} on ${where.host} is older than the PostgreSQL ${server} server at ${where.server}: ${program} ${client} cannot work with a newer server (nothing was run)`,
    hint: `install postgresql-client-${server} or newer on ${where.host} (the PostgreSQL project's apt repository, apt.postgresql.org, carries every major; a newer client works with older servers too), or point postgres.binDir at it`,
  };
}

/**
 * A pg_restore of an older major than the pg_dump that made the archive cannot read it (the archive format grows with
 * the majors): the problem naming the package, or undefined (fine, or a version unknown).
 */
export function archiveTooNew(
  pgRestore: string,
  dumpedBy: string | undefined,
  host: string,
): { problem: string; hint: string } | undefined {
  const dump = majorOf(dumpedBy);
  const restore = majorOf(pgRestore);
  if (!Number.isInteger(dump) || !Number.isInteger(restore) || restore >= dump) return undefined;
  return {
    problem: `the backup was made by pg_dump ${dumpedBy}; pg_restore ${pgRestore} on ${host} cannot read a newer archive (nothing was run)`,
    hint: `install postgresql-client-${dump} or newer on ${host} (apt.postgresql.org), or point postgres.binDir at it`,
  };
}
