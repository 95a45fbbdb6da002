import type { GroupSummary } from '../../shared/schema.ts';
import type { GroupViewAgent } from '../../shared/store.ts';
import { digestCount } from '../../shared/summary/membership-digest.ts';
import { ageSeconds } from '../../shared/summary/status-figures.ts';
import { type Failing, groupLevelFailures, judge, type Limits, NONE, type Verdict } from './verdict.ts';

// The check answered from the agents' summaries alone, or declined. It answers only when the
// answer is exactly what the full read (verdict.ts) would give: every counted agent offline or with
// a summary of the group's current membership, young enough that no member is stale, and limits at
// or above what the summary leaves unlisted. Anything else is a decline with the reason, and the
// caller reads every status instead.

export interface SummaryView {
  /** The group's member count as Redis holds it now (SCARD). */
  memberCount: number;
  /** The digest the API stored with the group's last write; null when there is none. */
  digest: string | null;
  agents: GroupViewAgent[];
  /** agent → its summary of the group; absent when the agent has none. */
  summaries: ReadonlyMap<string, GroupSummary>;
}

export type SummaryAnswer = { verdict: Verdict; declined?: undefined } | { declined: string };

export function summaryVerdict(
  view: SummaryView,
  limits: Limits,
  nowMs: number,
  onlyAgent?: string,
): SummaryAnswer {
  return answerFrom(view, limits, nowMs, onlyAgent, true);
}

/** With `judging` false only whether it declines counts: the listed entries are not judged. */
function answerFrom(
  view: SummaryView,
  limits: Limits,
  nowMs: number,
  onlyAgent: string | undefined,
  judging: boolean,
): SummaryAnswer {
  const failing: Failing[] = groupLevelFailures(view.agents.length, view.memberCount, onlyAgent);
  const online = view.agents.filter((a) => a.online);
  if (online.length > 0 && view.memberCount > 0) {
    // A digest over another count means the group was edited by hand since the API wrote it.
    if (view.digest === null || digestCount(view.digest) !== view.memberCount) {
      return { declined: 'the group has no membership digest matching its members' };
    }
  }
  let checked = 0;
  for (const agent of view.agents) {
    if (!agent.online) {
      failing.push({ agent: agent.name, ip: null, reason: 'offline', ...NONE });
      continue;
    }
    if (view.memberCount === 0) continue;
    const summary = view.summaries.get(agent.name);
    if (!summary) return { declined: `${agent.name} has no summary of the group` };
    if (summary.digest !== view.digest)
      return { declined: `${agent.name}'s summary is of another membership` };
    if (summary.truncated) return { declined: `${agent.name}'s summary lists too many members to answer` };
    const age = ageSeconds(Date.parse(summary.computed_at), nowMs);
    if (age === null || age > limits.max_age_s) return { declined: `${agent.name}'s summary is too old` };
    if (limits.max_loss < summary.unlisted_max_loss) {
      return { declined: `max_loss is below what ${agent.name}'s summary leaves unlisted` };
    }
    if (
      limits.max_rtt_ms !== null &&
      summary.unlisted_max_rtt_ms !== null &&
      limits.max_rtt_ms < summary.unlisted_max_rtt_ms
    ) {
      return { declined: `max_rtt_ms is below what ${agent.name}'s summary leaves unlisted` };
    }
    checked += view.memberCount;
    if (!judging) continue;
    // In member order, as the full read lists them. The agents write `listed` sorted, so with
    // nothing missing there is nothing to sort.
    if (summary.missing.length === 0 && isSortedByIp(summary.listed)) {
      for (const e of summary.listed) {
        const fail = judge(agent.name, e.ip, e, age, limits);
        if (fail) failing.push(fail);
      }
      continue;
    }
    const rows: [string, Failing | null][] = [
      ...summary.missing.map((ip): [string, Failing | null] => [
        ip,
        judge(agent.name, ip, null, age, limits),
      ]),
      ...summary.listed.map((e): [string, Failing | null] => [e.ip, judge(agent.name, e.ip, e, age, limits)]),
    ];
    rows.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    for (const [, fail] of rows) if (fail) failing.push(fail);
  }
  return { verdict: { ok: failing.length === 0, checked, failing } };
}

function isSortedByIp(entries: readonly { ip: string }[]): boolean {
  for (let i = 1; i < entries.length; i++) if (!(entries[i - 1]!.ip < entries[i]!.ip)) return false;
  return true;
}

/**
 * Asked before the check knows which agents probe the group (`agents` are all that have jobs):
 * whether the summaries will likely decline, so the members are fetched with the summaries' last
 * trip instead of after it. Agents with no summary of the group are taken not to probe it, so a
 * group of many agents does not read its members for the ones probing other groups; when such an
 * agent does probe it, the check still falls back, one trip later. When no online agent has a
 * summary of the group, a decline is expected.
 */
export function expectDecline(view: SummaryView, limits: Limits, nowMs: number, onlyAgent?: string): boolean {
  // No online agent has a summary at all: agents that write none (older versions) probe it, most likely.
  const online = view.agents.filter((a) => a.online);
  if (view.memberCount > 0 && online.length > 0 && !online.some((a) => view.summaries.has(a.name)))
    return true;
  const agents = view.agents.filter((a) => !a.online || view.summaries.has(a.name));
  return answerFrom({ ...view, agents }, limits, nowMs, onlyAgent, false).declined !== undefined;
}
