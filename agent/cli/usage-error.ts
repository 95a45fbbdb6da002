/** A mistake in how a command was called: printed as one line naming the value and the fix, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Exit codes shared by every subcommand. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
