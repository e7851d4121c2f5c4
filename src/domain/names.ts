// Rules for names that end up in object keys and commands: environments, targets, databases.

const ENV_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Returns an error message for an env name that cannot be used in object keys, or undefined when it is fine. */
export function checkEnvName(name: string): string | undefined {
  if (ENV_NAME.test(name)) return undefined;
  return `env name "${name}" must match ${ENV_NAME.source} (lower-case letters, digits, "-" and "_")`;
}

/** Encodes a database name for use inside an object key: unreserved characters stay, the rest is %-encoded. */
export function keySafeName(name: string): string {
  return encodeURIComponent(name).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Quotes a PostgreSQL identifier (database or role name) for SQL text. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes a PostgreSQL string literal for SQL text. */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
