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

/** Most keys one status request carries (IPv6 keys are ~60 bytes; this keeps a body well under 1 MB). */
export const KEYS_PER_REQUEST = 8_000;

/**
 * MGET of any number of keys, split into parallel requests that each stay under the 1 MB request
 * limit (an err list or a group can hold 65,536 IPs). Values come back in the order of `keyList`.
 * Several parts go as explicit pipelines: plain `mget` calls made in the same tick would be merged
 * by the client's auto-pipelining into one request, as large as if they had never been split. One
 * part stays a plain `mget`, free to share a request with whatever else is sent in that tick.
 */
export async function mgetInParts(
  redis: RedisClient,
  keyList: readonly string[],
): Promise<(string | null)[]> {
  if (keyList.length === 0) return [];
  if (keyList.length <= KEYS_PER_REQUEST) return redis.mget<(string | null)[]>(...keyList);
  const parts = chunk(keyList, KEYS_PER_REQUEST);
  const raws = await Promise.all(
    parts.map(async (part) => {
      const p = redis.pipeline();
      p.mget(...part);
      const [values] = (await p.exec()) as [(string | null)[]];
      return values;
    }),
  );
  return raws.flat();
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function sortedStrings(values: unknown): string[] {
  return (Array.isArray(values) ? values.map(String) : []).sort();
}
