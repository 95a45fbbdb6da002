import { ALERT_LIMITS } from '../../shared/alert-schema.ts';
import type { IpStatus, SummaryEntry } from '../../shared/schema.ts';
import type { GroupView } from '../../shared/store.ts';
import { membershipDigest } from '../../shared/summary/membership-digest.ts';
import { ageSeconds, entryOf, statusLoss } from '../../shared/summary/status-figures.ts';

// The CI verdict as pure logic over what the store read. An (agent, IP) pair fails for the first
// of these that applies: the agent is offline (reported once for the agent, not per IP), its
// status is missing (no_data), older than max_age_s (stale), loses more than max_loss (loss), or
// answers slower on average than max_rtt_ms (rtt).
//
// Age: statuses are not rewritten on every run when nothing changed, so a status's own time is
// only a lower bound. When the agent's summary of the group covers the group's current
// membership, each member was probed at the summary's `computed_at` at the latest; otherwise the
// status's `updated_at` counts. The summary path (summary-verdict.ts) applies the same rule.

export type FailReason = 'offline' | 'stale' | 'no_data' | 'loss' | 'rtt';

export interface Limits {
  /** 0..1, compared with the status's `loss_window`, else 1 - return_count / send_count. */
  max_loss: number;
  /** Compared with `rtt_avg_ms`; null means no RTT limit. */
  max_rtt_ms: number | null;
  max_age_s: number;
}

// An alert rule's limits are a check's, so they share the age's default and bounds (alert-schema.ts).
export const DEFAULT_LIMITS: Limits = {
  max_loss: 0,
  max_rtt_ms: null,
  max_age_s: ALERT_LIMITS.max_age_s.default,
};

/** The limits a check's query or a group rule asks for, the defaults standing in for those not given. */
export function limitsOf(asked: {
  max_loss?: number | undefined;
  max_rtt_ms?: number | null | undefined;
  max_age_s?: number | undefined;
}): Limits {
  return {
    max_loss: asked.max_loss ?? DEFAULT_LIMITS.max_loss,
    max_rtt_ms: asked.max_rtt_ms ?? DEFAULT_LIMITS.max_rtt_ms,
    max_age_s: asked.max_age_s ?? DEFAULT_LIMITS.max_age_s,
  };
}

export interface Failing {
  agent: string | null;
  ip: string | null;
  reason: FailReason;
  loss: number | null;
  rtt_ms: number | null;
  age_s: number | null;
}

export interface Measure {
  loss: number | null;
  rtt_ms: number | null;
  age_s: number | null;
}

/** Loss, RTT and age of one status, as the verdict and the report show them (loss rounded). The
 * age runs from `sinceMs` when given (a valid summary's time), else from the status's own time. */
export function measure(status: IpStatus, nowMs: number, sinceMs?: number): Measure {
  const loss = statusLoss(status);
  return {
    loss: loss === null ? null : round4(loss),
    rtt_ms: status.rtt_avg_ms ?? null,
    age_s: ageSeconds(sinceMs ?? Date.parse(status.updated_at), nowMs),
  };
}

export interface Verdict {
  ok: boolean;
  checked: number;
  failing: Failing[];
}

export const NONE = { loss: null, rtt_ms: null, age_s: null } as const;

/** The failures that do not depend on any status: nobody probes the group, or it has no members. */
export function groupLevelFailures(agentCount: number, ipCount: number, onlyAgent?: string): Failing[] {
  // Nothing measuring the group must not pass: a pipeline would read it as all well when nobody looked.
  if (agentCount === 0 || ipCount === 0)
    return [{ agent: onlyAgent ?? null, ip: null, reason: 'no_data', ...NONE }];
  return [];
}

export function verdict(view: GroupView, limits: Limits, nowMs: number, onlyAgent?: string): Verdict {
  const failing = groupLevelFailures(view.agents.length, view.ips.length, onlyAgent);
  let checked = 0;
  const digest =
    view.summaries && view.summaries.size > 0 ? (view.digest ?? membershipDigest(view.ips)) : null;
  for (const agent of view.agents) {
    if (!agent.online) {
      failing.push({ agent: agent.name, ip: null, reason: 'offline', ...NONE });
      continue;
    }
    const summary = view.summaries?.get(agent.name);
    const sinceMs = summary && summary.digest === digest ? Date.parse(summary.computed_at) : undefined;
    const row = view.statuses.get(agent.name);
    for (const ip of view.ips) {
      checked++;
      const status = row?.get(ip);
      const fail = judge(
        agent.name,
        ip,
        status ? entryOf(status) : null,
        status ? ageSeconds(sinceMs ?? Date.parse(status.updated_at), nowMs) : null,
        limits,
      );
      if (fail) failing.push(fail);
    }
  }
  return { ok: failing.length === 0, checked, failing };
}

/** One (agent, IP) pair against the limits: its failure, or null when it passes. */
export function judge(
  agent: string,
  ip: string,
  entry: SummaryEntry | null,
  age_s: number | null,
  limits: Limits,
): Failing | null {
  if (!entry) return { agent, ip, reason: 'no_data', ...NONE };
  const reason = failReason(entry, age_s, limits);
  if (!reason) return null;
  const rounded = entry.loss === null ? null : round4(entry.loss);
  // A loss failure never shows 0: below the rounding, the exact figure is shown instead.
  const loss = reason === 'loss' && rounded === 0 ? entry.loss : rounded;
  return { agent, ip, reason, loss, rtt_ms: entry.rtt, age_s };
}

function failReason(e: SummaryEntry, age_s: number | null, limits: Limits): FailReason | null {
  if (age_s === null || age_s > limits.max_age_s) return 'stale';
  if (e.loss === null && e.sent === 0) return 'no_data';
  // Compared unrounded: one lost packet in 100,000 counted since the key was made rounds to 0%,
  // and must still fail max_loss=0.
  if (e.loss !== null && e.loss > limits.max_loss) return 'loss';
  if (limits.max_rtt_ms !== null) {
    if (e.rtt === null) return e.returned === 0 ? 'loss' : 'no_data';
    if (e.rtt > limits.max_rtt_ms) return 'rtt';
  }
  return null;
}

function round4(n: number): number {
  return Math.round(n * 10_000) / 10_000;
}
