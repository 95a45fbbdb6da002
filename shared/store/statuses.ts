import { groupSummaryPattern, ipStatusPattern } from '../keys.ts';
import { type IpStatus, ipStatusSchema, parseStoredOrNull } from '../schema.ts';
import { chunk, mgetInParts, type StoreContext, sortedStrings } from './context.ts';
import { blockKeys } from './history.ts';

export interface StatusPage {
  statuses: IpStatus[];
  /** Pass back to continue; "0" when the scan is complete. */
  cursor: string;
}

export function statusStore({ redis, keys }: StoreContext) {
  async function get(agent: string, ips: readonly string[]): Promise<Map<string, IpStatus>> {
    const out = new Map<string, IpStatus>();
    if (ips.length === 0) return out;
    const raws = await mgetInParts(
      redis,
      ips.map((ip) => keys.ipStatus(agent, ip)),
    );
    ips.forEach((ip, i) => {
      const status = readStatus(keys.ipStatus(agent, ip), raws[i]);
      if (status) out.set(ip, status);
    });
    return out;
  }

  return {
    get,

    /** One page of the agent's `ip_{agent}_*` statuses, by SCAN (never KEYS). */
    async page(agent: string, cursor: string, count: number): Promise<StatusPage> {
      const [next, found] = await redis.scan(cursor, { match: ipStatusPattern(keys, agent), count });
      const prefix = keys.ipStatus(agent, '');
      const ips = sortedStrings(found.map((k) => String(k).slice(prefix.length)));
      const statuses = await get(agent, ips);
      return { statuses: ips.flatMap((ip) => statuses.get(ip) ?? []), cursor: String(next) };
    },

    /**
     * Deletes everything the agent measured: its statuses, their history (packed and old layout)
     * and its summaries. Statuses carry no expiry, so an agent deleted through the API must take
     * them along, or they would stay and look like data. SCANs in large pages, one request each.
     */
    async removeAll(agent: string): Promise<number> {
      let removed = 0;
      const prefix = keys.ipStatus(agent, '');
      for (const [pattern, keysOf] of [
        [
          ipStatusPattern(keys, agent),
          (key: string) => {
            const ip = key.slice(prefix.length);
            return [key, keys.ipMinutes(agent, ip), keys.ipHours(agent, ip), ...blockKeys(keys, agent, ip)];
          },
        ],
        [groupSummaryPattern(keys, agent), (key: string) => [key]],
      ] as const) {
        let cursor = '0';
        do {
          const [next, found] = await redis.scan(cursor, { match: pattern, count: 10_000 });
          cursor = String(next);
          const doomed = found.map(String).flatMap(keysOf);
          if (doomed.length === 0) continue;
          const p = redis.pipeline();
          for (const part of chunk(doomed, 1_000)) p.del(...part);
          await p.exec();
          removed += found.length;
        } while (cursor !== '0');
      }
      await redis.del(keys.agentSummary(agent));
      return removed;
    },

    async errList(agent: string): Promise<string[]> {
      return sortedStrings(await redis.smembers(keys.agentErrList(agent)));
    },
  };
}

export function readStatus(key: string, raw: unknown): IpStatus | null {
  return parseStoredOrNull(ipStatusSchema, raw, key);
}
