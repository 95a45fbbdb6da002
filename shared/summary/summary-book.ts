import type { KeySchema } from '../keys.ts';
import type { AgentRollup, IpStatus } from '../schema.ts';
import { buildSummary } from './build-summary.ts';
import { membershipDigest } from './membership-digest.ts';
import { statusLoss } from './status-figures.ts';

// The agent's side of the summaries: which groups it summarizes, with the members it probed and
// when it last probed them all. A run rewrites the summary of every group it probed whole, and of
// every other group holding an IP whose status it wrote (the err-list job, or a job sharing the IP
// with another group), so that a summary always matches the statuses Redis holds. The latter keep
// their time: those groups' other members were not probed again.

interface Tracked {
  /** The list the run passed: the same array again means the same members (the agent re-reads a group into a new one). */
  source: readonly string[];
  members: string[];
  memberSet: Set<string>;
  digest: string;
  computedAtMs: number;
}

export class SummaryBook {
  private readonly groups = new Map<string, Tracked>();

  constructor(
    private readonly agent: string,
    private readonly keys: KeySchema,
  ) {}

  /** A run probed every one of these members of each group at `nowMs`. */
  probed(groups: ReadonlyMap<string, readonly string[]>, nowMs: number): void {
    for (const [group, list] of groups) {
      const tracked = this.groups.get(group);
      if (tracked?.source === list) {
        // Unchanged since the last run: no sort, set or digest per member again.
        tracked.computedAtMs = nowMs;
        continue;
      }
      const members = [...list].sort();
      this.groups.set(group, {
        source: list,
        members,
        memberSet: new Set(members),
        digest: membershipDigest(members),
        computedAtMs: nowMs,
      });
    }
  }

  /**
   * The MSET entries of a run: the summaries of the groups it probed and of those holding an IP it
   * wrote, then the agent's roll-up. `statusOf` answers the status as Redis holds it after the run.
   */
  entries(
    probedGroups: Iterable<string>,
    writtenIps: Iterable<string>,
    statusOf: (ip: string) => IpStatus | undefined,
    nowMs: number,
  ): [string, string][] {
    const due = new Set([...probedGroups].filter((g) => this.groups.has(g)));
    const written = [...writtenIps];
    if (written.length > 0) {
      for (const [group, tracked] of this.groups) {
        if (!due.has(group) && written.some((ip) => tracked.memberSet.has(ip))) due.add(group);
      }
    }
    const out: [string, string][] = [];
    for (const group of [...due].sort()) {
      const t = this.groups.get(group)!;
      const summary = buildSummary({
        members: t.members,
        statusOf,
        computedAtMs: t.computedAtMs,
        digest: t.digest,
      });
      out.push([this.keys.groupSummary(this.agent, group), JSON.stringify(summary)]);
    }
    if (due.size > 0)
      out.push([this.keys.agentSummary(this.agent), JSON.stringify(this.rollup(statusOf, nowMs))]);
    return out;
  }

  /** Over every IP of every group it summarizes: how many lose packets (its own link, when most do). */
  rollup(statusOf: (ip: string) => IpStatus | undefined, nowMs: number): AgentRollup {
    const seen = new Set<string>();
    let lossy = 0;
    for (const { members } of this.groups.values()) {
      for (const ip of members) {
        if (seen.has(ip)) continue;
        seen.add(ip);
        const status = statusOf(ip);
        const loss = status ? statusLoss(status) : null;
        if (loss !== null && loss > 0) lossy++;
      }
    }
    return { computed_at: new Date(nowMs).toISOString(), targets: seen.size, lossy };
  }

  /** Stops summarizing groups no job probes any more; answers the keys to delete. */
  retain(activeGroups: ReadonlySet<string>): string[] {
    const dropped: string[] = [];
    for (const group of this.groups.keys()) {
      if (activeGroups.has(group)) continue;
      this.groups.delete(group);
      dropped.push(this.keys.groupSummary(this.agent, group));
    }
    return dropped;
  }
}
