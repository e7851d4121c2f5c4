// Schema pieces every section uses: bounded whole numbers, secret references, argv lists, compression.

import { z } from 'zod';
import { COMPRESSIONS } from '../../domain/compression.js';
import type { Range } from '../../domain/limits.js';

/** A whole number within one of the shared ranges (the same range as the flag of that name). */
export const boundedInt = (r: Range) => z.number().int().min(r.min).max(r.max);

/** A secret is given by reference only: the name of an environment variable or a file path, never inline. */
export const secretRefSchema = z
  .strictObject({
    env: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
      .optional(),
    file: z.string().min(1).optional(),
  })
  .refine((r) => (r.env === undefined) !== (r.file === undefined), {
    message: 'give exactly one of "env" (variable name) or "file" (path); inline secrets are not accepted',
  });
export type SecretRef = z.infer<typeof secretRefSchema>;

/** A command as argv (never a shell string). */
export const argvSchema = z.array(z.string().min(1)).min(1);

/** How artifacts are compressed on the runner; shared by every engine. */
export const compressionFields = {
  compression: z.enum(COMPRESSIONS).default('zstd'),
  zstdLevel: z.number().int().min(1).max(19).default(1),
  zstdThreads: z.number().int().min(0).max(64).default(0),
};
