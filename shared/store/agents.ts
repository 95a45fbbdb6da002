import { type Heartbeat, heartbeatSchema, parseStoredOrNull } from '../schema.ts';
import { commitConfigChange } from './config-version.ts';
import { type StoreContext, sortedStrings } from './context.ts';
import { statusStore } from './statuses.ts';

export interface AgentSummary {
  name: string;
  online: boolean;
  heartbeat: Heartbeat | null;
  job_count: number;
  err_count: number;
}

export function agentStore(context: StoreContext) {
  const { redis, keys } = context;
  async function summaries(names: readonly string[]): Promise<AgentSummary[]> {
    if (names.length === 0) return [];
    const p = redis.pipeline();
    for (const name of names) {
      p.get(keys.agentOnline(name));
      p.scard(keys.agentJobs(name));
      p.scard(keys.agentErrList(name));
    }
    const results = (await p.exec()) as unknown[];
    return names.map((name, i) => {
      const heartbeat = readHeartbeat(keys.agentOnline(name), results[i * 3]);
      return {
        name,
        online: results[i * 3] !== null && results[i * 3] !== undefined,
        heartbeat,
        job_count: Number(results[i * 3 + 1] ?? 0),
        err_count: Number(results[i * 3 + 2] ?? 0),
      };
    });
  }

  return {
    /** One SISMEMBER: whether the agent is in `agent-list`, without reading the whole list. */
    async isRegistered(agent: string): Promise<boolean> {
      return Number(await redis.sismember(keys.agentList(), agent)) === 1;
    },

    async names(): Promise<string[]> {
      return sortedStrings(await redis.smembers(keys.agentList()));
    },

    summaries,

    async register(agent: string): Promise<void> {
      await redis.sadd(keys.agentList(), agent);
    },

    async heartbeat(agent: string, value: Heartbeat, ttlSeconds: number): Promise<void> {
      await redis.set(keys.agentOnline(agent), JSON.stringify(value), { ex: ttlSeconds });
    },

    async goOffline(agent: string): Promise<void> {
      await redis.del(keys.agentOnline(agent));
    },

    /**
     * Forgets an agent: its jobs, registration, heartbeat and err list, then its statuses, history
     * and summaries.
     * False, changing nothing (not even the config version), when none of those existed.
     */
    async remove(agent: string): Promise<boolean> {
      const check = redis.pipeline();
      check.smembers(keys.agentJobs(agent));
      check.sismember(keys.agentList(), agent);
      check.exists(keys.agentOnline(agent), keys.agentErrList(agent));
      const [listedJobs, registered, present] = (await check.exec()) as [string[], number, number];
      const jobs = sortedStrings(listedJobs);
      if (jobs.length === 0 && Number(registered) === 0 && Number(present) === 0) return false;
      const [unlisted, deleted] = (await commitConfigChange(context, {
        sets: [keys.agentList()],
        write(tx) {
          tx.srem(keys.agentList(), agent);
          tx.del(keys.agentJobs(agent), keys.agentOnline(agent), keys.agentErrList(agent));
          if (jobs.length > 0) tx.del(...jobs.map((j) => keys.agentJob(agent, j)));
        },
      })) as [number, number];
      // Its measurements too (statuses have no expiry), after the agent is gone from the config.
      await statusStore(context).removeAll(agent);
      return Number(unlisted) + Number(deleted) > 0;
    },
  };
}

/** A heartbeat written by another tool still means "online"; we just cannot show its details. */
function readHeartbeat(key: string, raw: unknown): Heartbeat | null {
  return parseStoredOrNull(heartbeatSchema, raw, key);
}
