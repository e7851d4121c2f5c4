// File steps on the database host, as argv with paths passed as arguments (never spliced into a script).

import type { CommandSpec } from '../domain/command.js';

/** Writes stdin to a temp file beside `path`, then renames it over `path` (atomic on one filesystem). */
export function placeFileCommand(path: string): CommandSpec {
  return { argv: ['sh', '-c', 'cat > "$1.igbackup-new" && mv -f "$1.igbackup-new" "$1"', 'igbackup', path], stdin: 'pipe' };
}

/** Copies `from` to `to` if it exists (keeps the replaced dump.rdb). */
export function copyIfExistsCommand(from: string, to: string): CommandSpec {
  return { argv: ['sh', '-c', '[ ! -e "$1" ] || cp -p "$1" "$2"', 'igbackup', from, to] };
}

export function moveCommand(from: string, to: string): CommandSpec {
  return { argv: ['mv', '-f', from, to] };
}
