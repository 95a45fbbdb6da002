import type { AgentRollup } from '../../shared/schema.ts';
import type { GroupViewAgent } from '../../shared/store.ts';
import type { Failing } from './verdict.ts';

// Where the fault is, from the failures of one check and each agent's roll-up over all its targets
// (across every group it probes). An agent losing packets to most of its targets points at its own
// site; most agents losing packets to the same IP points at that IP. Both read only what the
// verdict already found, so the summary path and the full read locate faults alike.

export type LikelyCause = 'agent' | 'target' | 'unknown';

export type LocatedFailing = Failing & { likely_cause: LikelyCause };

/** An agent losing to more than this share of its targets is the likely fault itself. */
const AGENT_SHARE = 0.5;
/** Fewer targets than this say nothing about the agent's own link. */
const AGENT_MIN_TARGETS = 3;
/** A roll-up older than this no longer describes the agent's link. */
const ROLLUP_MAX_AGE_MS = 10 * 60_000;
const MAX_DIAGNOSIS = 20;

/** Every failure counts towards the diagnosis; only the first `listed` come back located. */
export function locateFaults(
  failing: readonly Failing[],
  agents: readonly GroupViewAgent[],
  rollups: ReadonlyMap<string, AgentRollup>,
  nowMs: number,
  listed = failing.length,
): { failing: LocatedFailing[]; diagnosis: string[] } {
  const diagnosis: string[] = [];
  const siteAgents = new Set<string>();
  for (const agent of agents) {
    const r = rollups.get(agent.name);
    if (!agent.online || !r || r.targets < AGENT_MIN_TARGETS) continue;
    if (nowMs - Date.parse(r.computed_at) > ROLLUP_MAX_AGE_MS) continue;
    if (r.lossy / r.targets <= AGENT_SHARE) continue;
    siteAgents.add(agent.name);
  }
  const measured = (f: Failing) => f.reason === 'loss' || f.reason === 'rtt';
  // Per IP: the agents (not themselves at fault) that fail it on loss or RTT, and those with no
  // figure for it, who cannot vote.
  const losers = new Map<string, Set<string>>();
  const unseen = new Map<string, number>();
  for (const f of failing) {
    if (f.ip === null || f.agent === null || siteAgents.has(f.agent)) continue;
    if (measured(f)) losers.set(f.ip, (losers.get(f.ip) ?? new Set()).add(f.agent));
    else unseen.set(f.ip, (unseen.get(f.ip) ?? 0) + 1);
  }
  const voters = agents.filter((a) => a.online && !siteAgents.has(a.name)).length;
  const targets = new Map<string, number>();
  for (const [ip, set] of losers) {
    const electorate = voters - (unseen.get(ip) ?? 0);
    if (set.size >= 2 && set.size * 2 > electorate) targets.set(ip, electorate);
  }

  const located = failing.slice(0, listed).map((f): LocatedFailing => {
    let likely_cause: LikelyCause = 'unknown';
    if (f.reason === 'offline') likely_cause = 'agent';
    else if (measured(f) && f.agent !== null && siteAgents.has(f.agent)) likely_cause = 'agent';
    else if (measured(f) && f.ip !== null && targets.has(f.ip)) likely_cause = 'target';
    // Spelled out rather than spread: a spread copy costs about 20 times as much per failure in V8.
    return {
      agent: f.agent,
      ip: f.ip,
      reason: f.reason,
      loss: f.loss,
      rtt_ms: f.rtt_ms,
      age_s: f.age_s,
      likely_cause,
    };
  });

  const failingAgents = new Set<string | null>();
  for (const f of failing) failingAgents.add(f.agent);
  for (const f of failing)
    if (f.reason === 'offline') diagnosis.push(`${f.agent} is offline: no figures from it`);
  for (const name of siteAgents) {
    if (!failingAgents.has(name)) continue;
    const r = rollups.get(name)!;
    diagnosis.push(
      `${name} loses to ${Math.round((r.lossy / r.targets) * 100)}% of its ${r.targets.toLocaleString('en-US')} targets: its own link`,
    );
  }
  for (const [ip, electorate] of [...targets].sort((x, y) => (x[0] < y[0] ? -1 : 1))) {
    diagnosis.push(
      `${ip}: ${losers.get(ip)!.size} of ${electorate} agents lose packets to it or see it slow: the target`,
    );
  }
  if (diagnosis.length > MAX_DIAGNOSIS) {
    const more = diagnosis.length - MAX_DIAGNOSIS + 1;
    diagnosis.splice(MAX_DIAGNOSIS - 1, diagnosis.length, `... and ${more} more`);
  }
  return { failing: located, diagnosis };
}
