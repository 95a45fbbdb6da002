import type { Redis } from '@upstash/redis';
import type { KeySchema } from '../keys.ts';

/**
 * The narrow slice of `@upstash/redis` the store uses. Both the Workers and the Node clients
 * satisfy it, and so can anything else that speaks the same commands. The client must be created
 * with `automaticDeserialization: false`: values come back as the strings Redis holds, and the
 * store parses them with its schemas (otherwise a stored "42" would come back as a number).
 */
export type RedisClient = Pick<
  Redis,
  | 'get'
  | 'mget'
  | 'set'
  | 'del'
  | 'exists'
  | 'incr'
  | 'sadd'
  | 'srem'
  | 'smembers'
  | 'scard'
  | 'sismember'
  | 'scan'
  | 'zadd'
  | 'zrange'
  | 'zremrangebyscore'
  | 'expire'
  | 'rename'
  | 'persist'
  | 'ping'
  | 'pipeline'
  | 'multi'
  // ACL commands for agent credentials (credentials.ts), which the client has no method for.
  | 'exec'
>;

export interface StoreContext {
  redis: RedisClient;
  keys: KeySchema;
}

/** Most members one SADD/SREM carries, so that a request stays well under 1 MB even for IPv6. */
export const MEMBERS_PER_COMMAND = 10_000;

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function sortedStrings(values: unknown): string[] {
  return (Array.isArray(values) ? values.map(String) : []).sort();
}
