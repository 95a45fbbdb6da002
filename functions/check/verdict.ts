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

/** Loss, RTT and age of one status, as the verdict and the report show them. */
export function measure(status: IpStatus, nowMs: number): Measure {
  const updated = Date.parse(status.updated_at);
  const age_s = Number.isNaN(updated) ? null : Math.max(0, Math.round((nowMs - updated) / 100) / 10);
  let loss: number | null = status.loss_window ?? null;
  if (loss === null && status.send_count > 0) loss = 1 - status.return_count / status.send_count;
  if (loss !== null) loss = Math.round(loss * 10_000) / 10_000;
  return { loss, rtt_ms: status.rtt_avg_ms ?? null, age_s };
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
      if (reason) failing.push({ agent: agent.name, ip, reason, ...m });
    }
  }
  return { ok: failing.length === 0, checked, failing };
}

function failReason(status: IpStatus, m: Measure, limits: Limits): FailReason | null {
  if (m.age_s === null || m.age_s > limits.max_age_s) return 'stale';
  if (m.loss === null && status.send_count === 0) return 'no_data';
  if (m.loss !== null && m.loss > limits.max_loss) return 'loss';
  if (limits.max_rtt_ms !== null) {
    if (m.rtt_ms === null) return status.return_count === 0 ? 'loss' : 'no_data';
    if (m.rtt_ms > limits.max_rtt_ms) return 'rtt';
  }
  return null;
}
