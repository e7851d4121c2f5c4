// The protected-env rule: changing a protected env needs --yes, or an interactive confirmation.

import { ConfirmationRequiredError } from '../domain/errors.js';

export interface ConfirmPolicy {
  yes: boolean;
  /** Asks the operator; undefined when the run is non-interactive (no TTY, --json, CI). */
  ask?: ((question: string) => Promise<boolean>) | undefined;
}

export async function requireConfirmation(
  envName: string,
  isProtected: boolean,
  action: string,
  policy: ConfirmPolicy,
): Promise<void> {
  if (!isProtected || policy.yes) return;
  if (!policy.ask) {
    throw new ConfirmationRequiredError(`env "${envName}" is protected: refusing to ${action} without --yes`, {
      hint: 'pass --yes to confirm (non-interactive runs never prompt)',
    });
  }
  const ok = await policy.ask(`env "${envName}" is protected. ${action}? Type the env name to confirm`);
  if (!ok) throw new ConfirmationRequiredError(`not confirmed: did not ${action}`);
}
