import type { GroupSummary, IpStatus, SummaryEntry } from '../schema.ts';
import { membershipDigest } from './membership-digest.ts';
import { entryOf } from './status-figures.ts';

// One agent's summary of one group, from the statuses exactly as the agent last wrote them. It lists
// every member a check could fail on at some limits (no status, no loss or RTT figure yet, the
// highest losses and RTTs) and bounds the rest, so the API answers any check whose limits are at or
// above those bounds from this one value, and falls back to reading every status otherwise.

export const SUMMARY_LIMITS = {
  /** Most members listed (missing ones included): ~100 bytes each keeps a summary near 100 KB. */
  listed: 1_000,
  /** Clean members listed by highest RTT, so that any RTT limit above the 32nd answers exactly. */
  topRtt: 32,
} as const;

export interface SummaryInput {
  members: readonly string[];
  /** The agent's status of a member as last written to Redis; undefined when none was. */
  statusOf: (ip: string) => IpStatus | undefined;
  /** When the agent last probed every member (ms). */
  computedAtMs: number;
  /** The membership digest, when the caller has it already. */
  digest?: string;
}

export function buildSummary(
  input: SummaryInput,
  limits: { listed: number; topRtt: number } = SUMMARY_LIMITS,
): GroupSummary {
  const members = [...input.members].sort();
  const missing: string[] = [];
  const required: SummaryEntry[] = [];
  const others: SummaryEntry[] = [];
  for (const ip of members) {
    const status = input.statusOf(ip);
    if (!status) {
      missing.push(ip);
      continue;
    }
    // Under the member's own spelling, set on the small entry rather than on a copy of the status.
    const entry = entryOf(status);
    entry.ip = ip;
    // An entry without a loss or an RTT figure fails some check whatever its neighbours do.
    if (entry.loss === null || entry.rtt === null) required.push(entry);
    else others.push(entry);
  }
  const base = {
    v: 1 as const,
    computed_at: new Date(input.computedAtMs).toISOString(),
    digest: input.digest ?? membershipDigest(members),
    members: members.length,
  };
  const budget = limits.listed - missing.length - required.length;
  if (budget < 0) {
    return {
      ...base,
      missing: missing.slice(0, limits.listed),
      listed: required.slice(0, Math.max(0, limits.listed - missing.length)),
      unlisted_max_loss: 1,
      unlisted_max_rtt_ms: null,
      truncated: true,
    };
  }
  const lossy = others.filter((e) => e.loss! > 0).sort((x, y) => y.loss! - x.loss! || cmp(x.ip, y.ip));
  const lossyListed = lossy.slice(0, Math.max(0, budget - limits.topRtt));
  const listedLossy = new Set(lossyListed);
  const rest = others.filter((e) => !listedLossy.has(e)).sort((x, y) => y.rtt! - x.rtt! || cmp(x.ip, y.ip));
  const topRtt = rest.slice(0, Math.min(limits.topRtt, budget - lossyListed.length));
  const unlisted = rest.slice(topRtt.length);
  let maxLoss = 0;
  let maxRtt: number | null = null;
  for (const e of unlisted) {
    if (e.loss! > maxLoss) maxLoss = e.loss!;
    if (maxRtt === null || e.rtt! > maxRtt) maxRtt = e.rtt!;
  }
  const listed = [...required, ...lossyListed, ...topRtt].sort((x, y) => cmp(x.ip, y.ip));
  return {
    ...base,
    missing,
    listed,
    unlisted_max_loss: maxLoss,
    unlisted_max_rtt_ms: maxRtt,
    truncated: false,
  };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
