import type { RedisClient, StoreContext } from './context.ts';

// `config-version` is the counter agents poll to notice that groups or jobs changed; the same
// transaction publishes on `config-changed`, which running agents listen to. Every change of groups
// or jobs goes through `commitConfigChange`, the one place the counter is bumped, so a change and
// its announcement can never part.

export type ConfigTransaction = ReturnType<RedisClient['multi']>;

export interface ConfigChange {
  /**
   * Keys the change adds to or removes from as sets. Each must hold a set or not exist: Redis
   * would refuse SADD/SREM on another type after the rest of the transaction had been applied.
   * Keys the change only overwrites or deletes (SET, DEL, RENAME) accept any type and need no entry.
   */
  sets: readonly string[];
  /** Work after the checks and before the transaction (staging a large group). */
  prepare?: () => Promise<void>;
  /** Queues the change's writes; the bump is queued after them, in the same MULTI. */
  write: (tx: ConfigTransaction) => void;
}

/**
 * A change that cannot be applied whole because a key holds what Redis would refuse to update
 * (written by hand, or by another tool); nothing was written.
 */
export class ConfigKeyError extends Error {
  constructor(
    readonly key: string,
    problem: string,
  ) {
    super(`${key} ${problem}; nothing was changed`);
    this.name = 'ConfigKeyError';
  }
}

const INT64_MAX = 2n ** 63n - 1n;

/**
 * Applies a change of groups or jobs and bumps `config-version` in one MULTI, and answers the
 * replies of the change's own writes.
 *
 * Redis does not roll a MULTI back when one command fails at run time (INCR of "abc", SADD on a
 * string): the others are applied and the client sees an error. So what would fail is looked at
 * first, in one request, and the change is refused before anything is written. Only a key changed
 * by hand between that look and the MULTI (milliseconds) can still fail a change half-way.
 */
export async function commitConfigChange(
  { redis, keys }: StoreContext,
  change: ConfigChange,
): Promise<unknown[]> {
  const versionKey = keys.configVersion();
  const check = redis.pipeline();
  check.get(versionKey);
  for (const key of change.sets) check.type(key);
  const [version, ...types] = await check.exec({ keepErrors: true });
  if (version!.error) throw new ConfigKeyError(versionKey, 'is not a string holding the version number');
  const problem = versionProblem(version!.result);
  if (problem) throw new ConfigKeyError(versionKey, problem);
  change.sets.forEach((key, i) => {
    const type = String(types[i]!.result);
    if (type !== 'set' && type !== 'none') throw new ConfigKeyError(key, `holds a ${type}, not a set`);
  });

  await change.prepare?.();
  const tx = redis.multi();
  change.write(tx);
  tx.incr(versionKey);
  // Pushed to running agents in the same transaction (they listen with SUBSCRIBE over SSE, and
  // re-read on their slow poll whatever a lost message missed).
  tx.publish(keys.configChannel(), 'changed');
  const replies = (await tx.exec()) as unknown[];
  return replies.slice(0, -2);
}

/** Why INCR would fail on this value (Redis's own integer rules), or null when it would not. */
function versionProblem(raw: unknown): string | null {
  if (raw === null || raw === undefined) return null;
  const text = String(raw);
  if (!/^(0|-?[1-9][0-9]{0,18})$/.test(text) || BigInt(text) < -INT64_MAX - 1n || BigInt(text) > INT64_MAX) {
    return `holds ${JSON.stringify(text.slice(0, 40))}, not an integer, so agents could not be told of the change (set it to 0 or delete it)`;
  }
  if (BigInt(text) === INT64_MAX) return 'is at the largest integer Redis holds (set it to 0 or delete it)';
  return null;
}

export function configVersionStore({ redis, keys }: StoreContext) {
  return {
    async get(): Promise<number> {
      const raw = await redis.get<string>(keys.configVersion());
      return raw === null ? 0 : Number(raw);
    },
  };
}
