import type { GroupView, GroupViewAgent } from '../../shared/store.ts';
import { type SummaryView, summaryVerdict } from './summary-verdict.ts';
import { type Limits, type Verdict, verdict } from './verdict.ts';

// A group's verdict as /v1/check answers it and a group alert rule judges it: from the agents'
// summaries when they can answer exactly, else from every status. Both go through here, so a rule
// fails exactly when the check with the rule's limits would answer 412.

export interface GroupVerdict {
  verdict: Verdict;
  answeredFrom: 'summaries' | 'statuses';
}

export async function groupVerdict(
  fast: SummaryView,
  limits: Limits,
  nowMs: number,
  /** Every status of the group, read only when the summaries decline. */
  readAll: () => Promise<GroupView>,
  options: {
    /** The agents judged, when not every one that probes the group (a rule may name some). */
    agents?: GroupViewAgent[];
    /** The one agent the read was narrowed to (the check's `agent`). */
    onlyAgent?: string;
  } = {},
): Promise<GroupVerdict> {
  const agents = options.agents ?? fast.agents;
  const answer = summaryVerdict({ ...fast, agents }, limits, nowMs, options.onlyAgent);
  if (answer.declined === undefined) return { verdict: answer.verdict, answeredFrom: 'summaries' };
  const all = await readAll();
  return { verdict: verdict({ ...all, agents }, limits, nowMs, options.onlyAgent), answeredFrom: 'statuses' };
}
