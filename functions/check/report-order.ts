import type { GroupSummary } from '../../shared/schema.ts';

// The order a group's report pages through: the members some agent's summary shows in trouble
// (no status, lost packets, no figure yet) first, then every other member, each part in the order
// given (sorted, as the store reads them). Only summaries of the current membership count.

export function reportOrder(
  members: readonly string[],
  summaries: ReadonlyMap<string, GroupSummary>,
  digest: string,
): { order: string[]; troubled: number } {
  const troubled = new Set<string>();
  for (const summary of summaries.values()) {
    if (summary.digest !== digest) continue;
    for (const ip of summary.missing) troubled.add(ip);
    for (const e of summary.listed) if (e.loss !== 0 || e.rtt === null) troubled.add(e.ip);
  }
  const first: string[] = [];
  const rest: string[] = [];
  for (const ip of members) (troubled.has(ip) ? first : rest).push(ip);
  return { order: [...first, ...rest], troubled: first.length };
}

/** Most (agent, IP) cells on one page: ~100 bytes each keeps a page near 600 KB. */
export const REPORT_CELLS_PER_PAGE = 6_000;

/** The page size actually served: the asked limit, lowered so a page stays within its cells. */
export function pageSize(limit: number, agentCount: number): number {
  return Math.max(1, Math.min(limit, Math.floor(REPORT_CELLS_PER_PAGE / Math.max(1, agentCount))));
}
