// Compression choices for artifacts: names, file extensions and how to tell them apart from a key.

export const COMPRESSIONS = ['zstd', 'gzip', 'none'] as const;
export type Compression = (typeof COMPRESSIONS)[number];

const EXTENSIONS: Record<Compression, string> = { zstd: '.zst', gzip: '.gz', none: '' };

export function isCompression(value: string): value is Compression {
  return (COMPRESSIONS as readonly string[]).includes(value);
}

/** The suffix appended to an artifact's base extension, e.g. ".zst". */
export function compressionExtension(c: Compression): string {
  return EXTENSIONS[c];
}
