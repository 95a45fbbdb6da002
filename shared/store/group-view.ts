import type { GroupSummary, IpStatus } from '../schema.ts';
import { type StoreContext, sortedStrings } from './context.ts';
import { readJob } from './jobs.ts';
import { KEYS_PER_REQUEST, mgetInParts, readStatus } from './statuses.ts';

export { KEYS_PER_REQUEST };

// Everything the CI check and the group report need, read in as few round trips as Redis allows:
//
//   1. the group (listed? members) and the registered agents
//   2. each agent's job names and heartbeat
//   3. the job values and every candidate agent's status of every member, in one pipeline
//
// Which agents count is only known once the job values are read, so step 3 fetches statuses for
// every agent that has any job. When that would be far more keys than needed (many agents, most
// of them probing other groups), the statuses wait for a fourth trip and only relevant agents'
// are read. Status reads are split into parallel requests to stay under the 1 MB request limit.

export interface GroupViewAgent {
  name: string;
  online: boolean;
  /** Names of this agent's jobs that include the group. */
  jobs: string[];
}

export interface GroupView {
  group: string;
  ips: string[];
  /** Agents with at least one job that includes the group (narrowed by `agent` when given). */
  agents: GroupViewAgent[];
  /** agent → ip → status, for the agents above; an absent entry means no status key. */
  statuses: Map<string, Map<string, IpStatus>>;
  /** agent → its summary of the group, when read: it sets the age of the agent's statuses when it
   * covers the current membership (see functions/check/verdict.ts). */
  summaries?: Map<string, GroupSummary>;
  /** Sequential round trips to Redis this read took. */
  roundTrips: number;
}

/** Above this many speculative status keys, read the job values first. */
export const SPECULATIVE_KEY_LIMIT = 3 * KEYS_PER_REQUEST;

export function groupViewStore({ redis, keys }: StoreContext) {
  async function readStatuses(agents: readonly string[], ips: readonly string[]) {
    const out = new Map<string, Map<string, IpStatus>>();
    const pairs = agents.flatMap((agent) => ips.map((ip) => ({ agent, ip, key: keys.ipStatus(agent, ip) })));
    for (const agent of agents) out.set(agent, new Map());
    const raws = await mgetInParts(
      redis,
      pairs.map((x) => x.key),
    );
    pairs.forEach((x, i) => {
      const status = readStatus(x.key, raws[i]);
      if (status) out.get(x.agent)!.set(x.ip, status);
    });
    return out;
  }

  return {
    /** The group's measurements, or null when the group does not exist. */
    async read(group: string, options: { agent?: string } = {}): Promise<GroupView | null> {
      const first = redis.pipeline();
      first.sismember(keys.groupsList(), group);
      first.smembers(keys.group(group));
      if (options.agent === undefined) first.smembers(keys.agentList());
      const [listed, members, registered] = (await first.exec()) as [number, string[], string[]?];
      const ips = sortedStrings(members);
      if (Number(listed) !== 1 && ips.length === 0) return null;
      const candidates = options.agent === undefined ? sortedStrings(registered) : [options.agent];
      if (candidates.length === 0) return { group, ips, agents: [], statuses: new Map(), roundTrips: 1 };

      const second = redis.pipeline();
      for (const agent of candidates) {
        second.smembers(keys.agentJobs(agent));
        second.exists(keys.agentOnline(agent));
      }
      const rows = (await second.exec()) as unknown[];
      const withJobs = candidates
        .map((name, i) => ({
          name,
          jobNames: sortedStrings(rows[i * 2]),
          online: Number(rows[i * 2 + 1]) === 1,
        }))
        .filter((a) => a.jobNames.length > 0);
      if (withJobs.length === 0) return { group, ips, agents: [], statuses: new Map(), roundTrips: 2 };

      const jobKeys = withJobs.flatMap((a) => a.jobNames.map((job) => ({ agent: a.name, job })));
      const speculative = withJobs.length * ips.length <= SPECULATIVE_KEY_LIMIT;
      const [jobRaws, early] = await Promise.all([
        redis.mget<(string | null)[]>(...jobKeys.map((x) => keys.agentJob(x.agent, x.job))),
        speculative && ips.length > 0
          ? readStatuses(
              withJobs.map((a) => a.name),
              ips,
            )
          : Promise.resolve(null),
      ]);
      const usingGroup = new Map<string, string[]>();
      jobKeys.forEach((x, i) => {
        const stored = readJob(keys.agentJob(x.agent, x.job), x.job, jobRaws[i]);
        if (!stored.job?.group.includes(group)) return;
        usingGroup.set(x.agent, [...(usingGroup.get(x.agent) ?? []), x.job]);
      });
      const agents = withJobs
        .filter((a) => usingGroup.has(a.name))
        .map((a) => ({ name: a.name, online: a.online, jobs: usingGroup.get(a.name)! }));
      let statuses: Map<string, Map<string, IpStatus>>;
      let roundTrips = 3;
      if (early) {
        statuses = new Map(agents.map((a) => [a.name, early.get(a.name) ?? new Map()]));
      } else if (ips.length === 0 || agents.length === 0) {
        statuses = new Map(agents.map((a) => [a.name, new Map()]));
      } else {
        statuses = await readStatuses(
          agents.map((a) => a.name),
          ips,
        );
        roundTrips = 4;
      }
      return { group, ips, agents, statuses, roundTrips };
    },
  };
}
