// Asking the operator on a TTY to confirm a change to a protected env by typing its name.

import { createInterface } from 'node:readline/promises';

export async function askEnv(question: string, expected: string, stderr: NodeJS.WriteStream): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: stderr });
  try {
    return (await rl.question(`${question}: `)).trim() === expected;
  } finally {
    rl.close();
  }
}
