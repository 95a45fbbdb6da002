import {
  type AgentRollup,
  agentRollupSchema,
  type GroupSummary,
  type IpStatus,
  parseStoredOrNull,
} from '../schema.ts';
import { digestCount, membershipDigest } from '../summary/membership-digest.ts';
import { readSummary } from '../summary/read-summary.ts';
import { KEYS_PER_REQUEST, mgetInParts, type StoreContext, sortedStrings } from './context.ts';
import { readJob } from './jobs.ts';
import { readStatus } from './statuses.ts';

// Everything the CI check and the group report need, read in as few round trips as Redis allows:
//
//   1. the group (listed? members) and the registered agents
//   2. each agent's job names, heartbeat, summary of the group and roll-up
//   3. the job values and every candidate agent's status of every member, in one pipeline
//
// The CI check reads less (`readSummaries`): the member count and the group's stored digest in the
// first trip, the summaries in the second, the job values in the third; no status at all.
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
  /** agent → its roll-up over all its targets, when read. */
  rollups?: Map<string, AgentRollup>;
  /** Digest of the group's whole membership (`ips` may be one page of it). */
  digest?: string;
  /** Members in the whole group. */
  memberCount?: number;
  /** Sequential round trips to Redis this read took. */
  roundTrips: number;
}

/** What the check needs to answer from summaries (see functions/check/summary-verdict.ts). */
export interface SummaryRead {
  group: string;
  memberCount: number;
  /** The digest the API stored with the group's last write. */
  digest: string | null;
  agents: GroupViewAgent[];
  summaries: Map<string, GroupSummary>;
  rollups: Map<string, AgentRollup>;
  /** The group's members, unsorted, when `membersIf` asked for them in the third trip. */
  members?: string[];
  roundTrips: number;
}

/** Asked after the second trip, with every agent that has jobs: true when the caller will likely
 * need the whole membership, which then comes with the third trip rather than after it. */
export type MembersIf = (read: Omit<SummaryRead, 'roundTrips' | 'members'>) => boolean;

/** What a page's members are chosen from (see `readPage`). */
export interface PageSource {
  /** SCARD of the group. */
  memberCount: number;
  /** The stored membership digest when it counts as many members as the group holds; else null. */
  digest: string | null;
  /** Summaries of every candidate agent with jobs (not yet narrowed to those probing the group). */
  summaries: ReadonlyMap<string, GroupSummary>;
  /** Agents with any job: the statuses of the page are read for this many. */
  candidateAgents: number;
  /** The SSCAN batch at the cursor asked, and the cursor SSCAN answered ("0": the scan is done). */
  scanned: string[];
  nextScan: string;
}

export type PageChooser = (source: PageSource) => string[];

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
      const [listed, raw, registered] = (await first.exec()) as [number, string[], string[]?];
      const ips = sortedStrings(raw);
      if (Number(listed) !== 1 && ips.length === 0) return null;
      const candidates = options.agent === undefined ? sortedStrings(registered) : [options.agent];
      const base = { group, ips, digest: membershipDigest(ips), memberCount: ips.length };
      if (candidates.length === 0) return { ...base, agents: [], statuses: new Map(), roundTrips: 1 };
      const { withJobs, summaries, rollups } = await readAgents(candidates, group);
      if (withJobs.length === 0) {
        return { ...base, summaries, rollups, agents: [], statuses: new Map(), roundTrips: 2 };
      }
      return { ...base, summaries, rollups, ...(await statusesOfUsers(withJobs, group, ips, summaries)) };
    },

    /**
     * One page of the group, never reading the whole membership: the member count, the stored
     * digest and an SSCAN batch in the first trip, the agents and their summaries in the second,
     * the job values and the chosen members' statuses in the third. `choose` picks the page's
     * members from what the first two trips read. Null when the group does not exist.
     */
    async readPage(
      group: string,
      scan: { cursor: string; count: number },
      choose: PageChooser,
    ): Promise<GroupView | null> {
      const first = redis.pipeline();
      first.sismember(keys.groupsList(), group);
      first.scard(keys.group(group));
      first.get(keys.groupDigest(group));
      first.sscan(keys.group(group), scan.cursor, { count: scan.count });
      first.smembers(keys.agentList());
      const [listed, count, stored, scanned, registered] = (await first.exec()) as [
        number,
        number,
        unknown,
        [string | number, unknown[]],
        string[],
      ];
      const memberCount = Number(count);
      if (Number(listed) !== 1 && memberCount === 0) return null;
      // A digest over another count means the group was edited by hand: no summary matches it.
      const digest = typeof stored === 'string' && digestCount(stored) === memberCount ? stored : undefined;
      const candidates = sortedStrings(registered);
      const read = candidates.length > 0 ? await readAgents(candidates, group) : null;
      const summaries = read?.summaries ?? new Map<string, GroupSummary>();
      const rollups = read?.rollups ?? new Map<string, AgentRollup>();
      const withJobs = read?.withJobs ?? [];
      const ips = choose({
        memberCount,
        digest: digest ?? null,
        summaries,
        candidateAgents: withJobs.length,
        scanned: (scanned?.[1] ?? []).map(String),
        nextScan: String(scanned?.[0] ?? '0'),
      });
      const base = { group, ips, digest, memberCount, summaries, rollups };
      if (withJobs.length === 0) {
        return { ...base, agents: [], statuses: new Map(), roundTrips: read ? 2 : 1 };
      }
      return { ...base, ...(await statusesOfUsers(withJobs, group, ips, summaries)) };
    },

    /** What the check needs to answer from summaries, in three round trips; null for no group. */
    async readSummaries(
      group: string,
      options: { agent?: string } = {},
      membersIf?: MembersIf,
    ): Promise<SummaryRead | null> {
      const first = redis.pipeline();
      first.sismember(keys.groupsList(), group);
      first.scard(keys.group(group));
      first.get(keys.groupDigest(group));
      if (options.agent === undefined) first.smembers(keys.agentList());
      const [listed, count, digest, registered] = (await first.exec()) as [
        number,
        number,
        unknown,
        string[]?,
      ];
      const memberCount = Number(count);
      if (Number(listed) !== 1 && memberCount === 0) return null;
      const candidates = options.agent === undefined ? sortedStrings(registered) : [options.agent];
      const base = { group, memberCount, digest: typeof digest === 'string' ? digest : null };
      const none = { agents: [], summaries: new Map(), rollups: new Map() };
      if (candidates.length === 0) return { ...base, ...none, roundTrips: 1 };
      const { withJobs, summaries, rollups } = await readAgents(candidates, group);
      if (withJobs.length === 0) return { ...base, ...none, roundTrips: 2 };
      const wanted =
        membersIf?.({
          ...base,
          agents: withJobs.map((a) => ({ name: a.name, online: a.online, jobs: a.jobNames })),
          summaries,
          rollups,
        }) ?? false;
      const [agents, members] = await Promise.all([
        agentsUsing(withJobs, group),
        wanted ? (redis.smembers(keys.group(group)) as Promise<string[]>) : undefined,
      ]);
      keepSummariesOf(summaries, agents);
      return { ...base, agents, summaries, rollups, ...(members ? { members } : {}), roundTrips: 3 };
    },

    /**
     * The full read after `readSummaries` (when the summaries could not answer): what that read
     * fetched is reused, so this costs the statuses' trip, plus the members' when they were not
     * fetched already. The digest is the members' own, as `read` computes it.
     */
    async readAfterSummaries(fast: SummaryRead): Promise<GroupView> {
      let roundTrips = fast.roundTrips;
      let raw: unknown = fast.members;
      if (raw === undefined && fast.memberCount > 0) {
        raw = await redis.smembers(keys.group(fast.group));
        roundTrips++;
      }
      const ips = sortedStrings(raw);
      const names = fast.agents.map((a) => a.name);
      let statuses = new Map<string, Map<string, IpStatus>>(names.map((n) => [n, new Map()]));
      if (names.length > 0 && ips.length > 0) {
        statuses = await readStatuses(names, ips);
        roundTrips++;
      }
      return {
        group: fast.group,
        ips,
        agents: fast.agents,
        statuses,
        summaries: fast.summaries,
        rollups: fast.rollups,
        digest: membershipDigest(ips),
        memberCount: ips.length,
        roundTrips,
      };
    },
  };

  /** Trip 2: each candidate's job names, heartbeat, summary of the group and roll-up. */
  async function readAgents(candidates: readonly string[], group: string) {
    const p = redis.pipeline();
    for (const agent of candidates) {
      p.smembers(keys.agentJobs(agent));
      p.exists(keys.agentOnline(agent));
      p.get(keys.groupSummary(agent, group));
      p.get(keys.agentSummary(agent));
    }
    const rows = (await p.exec()) as unknown[];
    const summaries = new Map<string, GroupSummary>();
    const rollups = new Map<string, AgentRollup>();
    const withJobs = candidates
      .map((name, i) => {
        const summary = readSummary(rows[i * 4 + 2], keys.groupSummary(name, group));
        if (summary) summaries.set(name, summary);
        // A summary or roll-up that does not parse counts as absent: the check then reads every status.
        const rollup = parseStoredOrNull(agentRollupSchema, rows[i * 4 + 3], keys.agentSummary(name));
        if (rollup) rollups.set(name, rollup);
        return { name, jobNames: sortedStrings(rows[i * 4]), online: Number(rows[i * 4 + 1]) === 1 };
      })
      .filter((a) => a.jobNames.length > 0);
    return { withJobs, summaries, rollups };
  }

  /**
   * Trip 3: the agents whose jobs include the group, and their statuses of `ips` in the same trip
   * when that is few enough keys to read for every agent with jobs; else in a fourth. Summaries of
   * agents that turn out not to probe the group are dropped.
   */
  async function statusesOfUsers(
    withJobs: { name: string; jobNames: string[]; online: boolean }[],
    group: string,
    ips: string[],
    summaries: Map<string, GroupSummary>,
  ) {
    const speculative = withJobs.length * ips.length <= SPECULATIVE_KEY_LIMIT;
    const [agents, early] = await Promise.all([
      agentsUsing(withJobs, group),
      speculative && ips.length > 0
        ? readStatuses(
            withJobs.map((a) => a.name),
            ips,
          )
        : Promise.resolve(null),
    ]);
    keepSummariesOf(summaries, agents);
    if (early || ips.length === 0 || agents.length === 0) {
      return {
        agents,
        statuses: new Map(agents.map((a) => [a.name, early?.get(a.name) ?? new Map<string, IpStatus>()])),
        roundTrips: 3,
      };
    }
    const statuses = await readStatuses(
      agents.map((a) => a.name),
      ips,
    );
    return { agents, statuses, roundTrips: 4 };
  }

  /** Trip 3: the agents whose jobs include the group, by reading the job values. */
  async function agentsUsing(
    withJobs: { name: string; jobNames: string[]; online: boolean }[],
    group: string,
  ): Promise<GroupViewAgent[]> {
    const jobKeys = withJobs.flatMap((a) => a.jobNames.map((job) => ({ agent: a.name, job })));
    const raws = await redis.mget<(string | null)[]>(...jobKeys.map((x) => keys.agentJob(x.agent, x.job)));
    const usingGroup = new Map<string, string[]>();
    jobKeys.forEach((x, i) => {
      const stored = readJob(keys.agentJob(x.agent, x.job), x.job, raws[i]);
      if (!stored.job?.group.includes(group)) return;
      usingGroup.set(x.agent, [...(usingGroup.get(x.agent) ?? []), x.job]);
    });
    return withJobs
      .filter((a) => usingGroup.has(a.name))
      .map((a) => ({ name: a.name, online: a.online, jobs: usingGroup.get(a.name)! }));
  }
}

/** Drops the summaries of agents that turned out not to probe the group. */
function keepSummariesOf(summaries: Map<string, GroupSummary>, agents: readonly GroupViewAgent[]): void {
  const probing = new Set(agents.map((a) => a.name));
  for (const name of summaries.keys()) if (!probing.has(name)) summaries.delete(name);
}
