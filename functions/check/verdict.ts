import type { IpStatus } from '../../shared/schema.ts';
import type { GroupView } from '../../shared/store.ts';

// The CI verdict as pure logic over what the store read. An (agent, IP) pair fails for the first
// of these that applies: the agent is offline (reported once for the agent, not per IP), its
// status is missing (no_data), older than max_age_s (stale), loses more than max_loss (loss), or
// answers slower on average than max_rtt_ms (rtt).

export type FailReason = 'offline' | 'stale' | 'no_data' | 'loss' | 'rtt';

export interface Limits {
  /** 0..1, compared with the status's `loss_window`, else 1 - return_count / send_count. */
  max_loss: number;
  /** Compared with `rtt_avg_ms`; null means no RTT limit. */
  max_rtt_ms: number | null;
  max_age_s: number;
}

export const DEFAULT_LIMITS: Limits = { max_loss: 0, max_rtt_ms: null, max_age_s: 180 };

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

/** Loss, RTT and age of one status, as the verdict and the report show them (loss rounded). */
export function measure(status: IpStatus, nowMs: number): Measure {
  const updated = Date.parse(status.updated_at);
  const age_s = Number.isNaN(updated) ? null : Math.max(0, Math.round((nowMs - updated) / 100) / 10);
  const loss = exactLoss(status);
  return {
    loss: loss === null ? null : Math.round(loss * 10_000) / 10_000,
    rtt_ms: status.rtt_avg_ms ?? null,
    age_s,
  };
}

/** The loss window, else the loss of the cumulative counters; null before anything was sent. */
function exactLoss(status: IpStatus): number | null {
  if (status.loss_window !== undefined) return status.loss_window;
  return status.send_count > 0 ? 1 - status.return_count / status.send_count : null;
}

export interface Verdict {
  ok: boolean;
  checked: number;
  failing: Failing[];
}

export function verdict(view: GroupView, limits: Limits, nowMs: number, onlyAgent?: string): Verdict {
  const failing: Failing[] = [];
  let checked = 0;
  const none = { loss: null, rtt_ms: null, age_s: null };
  if (view.agents.length === 0) {
    // Nothing measures the group: passing would tell a pipeline that all is well when nobody looked.
    failing.push({ agent: onlyAgent ?? null, ip: null, reason: 'no_data', ...none });
  }
  if (view.ips.length === 0 && view.agents.length > 0) {
    failing.push({ agent: onlyAgent ?? null, ip: null, reason: 'no_data', ...none });
  }
  for (const agent of view.agents) {
    if (!agent.online) {
      failing.push({ agent: agent.name, ip: null, reason: 'offline', ...none });
      continue;
    }
    const row = view.statuses.get(agent.name);
    for (const ip of view.ips) {
      checked++;
      const status = row?.get(ip);
      if (!status) {
        failing.push({ agent: agent.name, ip, reason: 'no_data', ...none });
        continue;
      }
      const m = measure(status, nowMs);
      const reason = failReason(status, m, limits);
      if (!reason) continue;
      // A loss failure never shows 0: below the rounding, the exact figure is shown instead.
      const loss = reason === 'loss' && m.loss === 0 ? exactLoss(status) : m.loss;
      failing.push({ agent: agent.name, ip, reason, ...m, loss });
    }
  }
  return { ok: failing.length === 0, checked, failing };
}

function failReason(status: IpStatus, m: Measure, limits: Limits): FailReason | null {
  if (m.age_s === null || m.age_s > limits.max_age_s) return 'stale';
  if (m.loss === null && status.send_count === 0) return 'no_data';
  // Compared unrounded: one lost packet in 100,000 counted since the key was made rounds to 0%,
  // and must still fail max_loss=0.
  const loss = exactLoss(status);
  if (loss !== null && loss > limits.max_loss) return 'loss';
  if (limits.max_rtt_ms !== null) {
    if (m.rtt_ms === null) return status.return_count === 0 ? 'loss' : 'no_data';
    if (m.rtt_ms > limits.max_rtt_ms) return 'rtt';
  }
  return null;
}
