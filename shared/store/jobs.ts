import { type JobValue, jobValueSchema, parseStored, StoredValueError } from '../schema.ts';
import { commitConfigChange } from './config-version.ts';
import type { StoreContext } from './context.ts';
import { sortedStrings } from './context.ts';

/** A job as read from Redis: a bad value is data (the agent logs it and skips the job), not a throw. */
export type StoredJob =
  | { name: string; job: JobValue; problem?: undefined }
  | { name: string; job?: undefined; problem: string };

export function jobStore(context: StoreContext) {
  const { redis, keys } = context;
  return {
    async names(agent: string): Promise<string[]> {
      return sortedStrings(await redis.smembers(keys.agentJobs(agent)));
    },

    /** Every job of the agent, in two round trips; jobs listed but missing or malformed carry a problem. */
    async list(agent: string): Promise<StoredJob[]> {
      const names = sortedStrings(await redis.smembers(keys.agentJobs(agent)));
      if (names.length === 0) return [];
      const raws = await redis.mget<(string | null)[]>(...names.map((n) => keys.agentJob(agent, n)));
      return names.map((name, i) => readJob(keys.agentJob(agent, name), name, raws[i]));
    },

    async get(agent: string, job: string): Promise<StoredJob | null> {
      const key = keys.agentJob(agent, job);
      const raw = await redis.get<string>(key);
      return raw === null ? null : readJob(key, job, raw);
    },

    /**
     * Stores the seed's value at `agent_{agent}_{job}`, lists the name and the agent (so an agent
     * given jobs but never started counts as offline in the CI check, instead of being invisible
     * until its first heartbeat), and bumps the config version: all of it or, refused, none.
     */
    async put(agent: string, value: JobValue): Promise<void> {
      await commitConfigChange(context, {
        sets: [keys.agentJobs(agent), keys.agentList()],
        write(tx) {
          tx.set(keys.agentJob(agent, value.name), JSON.stringify(value));
          tx.sadd(keys.agentJobs(agent), value.name);
          tx.sadd(keys.agentList(), agent);
        },
      });
    },

    /** Deletes the job; false, changing nothing (not even the config version), when it was not there. */
    async remove(agent: string, job: string): Promise<boolean> {
      const check = redis.pipeline();
      check.exists(keys.agentJob(agent, job));
      check.sismember(keys.agentJobs(agent), job);
      const [stored, listed] = (await check.exec()) as [number, number];
      if (Number(stored) === 0 && Number(listed) === 0) return false;
      const [deleted, unlisted] = (await commitConfigChange(context, {
        sets: [keys.agentJobs(agent)],
        write(tx) {
          tx.del(keys.agentJob(agent, job));
          tx.srem(keys.agentJobs(agent), job);
        },
      })) as [number, number];
      return Number(deleted) + Number(unlisted) > 0;
    },

    /** Every (agent, job) whose groups include this group, over all registered agents. */
    async usingGroup(group: string, agents: readonly string[]): Promise<{ agent: string; job: string }[]> {
      if (agents.length === 0) return [];
      const p = redis.pipeline();
      for (const a of agents) p.smembers(keys.agentJobs(a));
      const lists = (await p.exec()) as string[][];
      const pairs = agents.flatMap((agent, i) => sortedStrings(lists[i]).map((job) => ({ agent, job })));
      if (pairs.length === 0) return [];
      const raws = await redis.mget<(string | null)[]>(...pairs.map((x) => keys.agentJob(x.agent, x.job)));
      return pairs.filter((x, i) => {
        const stored = readJob(keys.agentJob(x.agent, x.job), x.job, raws[i]);
        return stored.job?.group.includes(group) ?? false;
      });
    },
  };
}

export function readJob(key: string, name: string, raw: string | null | undefined): StoredJob {
  if (raw === null || raw === undefined) return { name, problem: `${key} is listed but does not exist` };
  try {
    const job = parseStored(jobValueSchema, raw, key)!;
    return { name, job };
  } catch (error) {
    if (error instanceof StoredValueError) return { name, problem: error.message };
    throw error;
  }
}
