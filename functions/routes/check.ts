import { createRoute, z } from '@hono/zod-openapi';
import { ALERT_LIMITS } from '../../shared/alert-schema.ts';
import { locateFaults } from '../check/fault-site.ts';
import { groupVerdict } from '../check/group-verdict.ts';
import { expectDecline } from '../check/summary-verdict.ts';
import { DEFAULT_LIMITS, limitsOf } from '../check/verdict.ts';
import { storeOf } from '../env.ts';
import { newRouter } from '../router.ts';
import {
  agentName,
  checkBody,
  errorResponse,
  failingBody,
  groupName,
  json,
  queryNumber,
} from '../schemas.ts';
import { noGroup } from './groups.ts';

// GET /v1/check: a verdict a CI step can act on. 200 when every (agent, IP) of the group is within
// the limits, 412 otherwise, so `curl --fail` stops a pipeline. At most three sequential Redis
// round trips for ordinary groups (see shared/store/group-view.ts), four when it reads every status.
//
// The agents' summaries answer first (three round trips, reads that grow with agents, not with
// the group); when they cannot answer exactly (summaryVerdict says why) every status is read. Each
// failure then says where the fault likely is, and `diagnosis` says it in words.

export const check = newRouter();

/** Failures listed in one answer; `failing_count` has them all. */
const MAX_LISTED = 1_000;

const verdictBody = checkBody
  .extend({
    failing: z.array(
      failingBody.extend({
        likely_cause: z
          .enum(['agent', 'target', 'unknown'])
          .openapi({ description: "agent: the agent's own link; target: most agents lose to this IP" }),
      }),
    ),
    diagnosis: z.array(z.string()).openapi({ description: 'where the faults likely are, in words' }),
    answered_from: z
      .enum(['summaries', 'statuses'])
      .openapi({ description: "the agents' summaries, or every status when they could not answer" }),
  })
  .openapi('CheckVerdictLocated');

const checkQuery = z.strictObject({
  group: groupName,
  agent: agentName.optional(),
  max_loss: queryNumber(0, 1).optional().openapi({ description: '0..1, default 0' }),
  max_rtt_ms: queryNumber(0, 600_000).optional().openapi({ description: 'default: no RTT limit' }),
  max_age_s: queryNumber(ALERT_LIMITS.max_age_s.min, ALERT_LIMITS.max_age_s.max)
    .optional()
    .openapi({ description: `default ${DEFAULT_LIMITS.max_age_s}` }),
});

check.openapi(
  createRoute({
    method: 'get',
    path: '/',
    tags: ['check'],
    security: [{ bearer: [] }],
    summary: 'CI verdict for a group: 200 ok, 412 failing',
    request: { query: checkQuery },
    responses: {
      200: json(verdictBody, 'every (agent, IP) meets the limits'),
      412: json(verdictBody, 'something fails; see `failing` and `diagnosis`'),
      404: errorResponse('no such group'),
    },
  }),
  async (c) => {
    const query = c.req.valid('query');
    const limits = limitsOf(query);
    const options = query.agent ? { agent: query.agent } : {};
    const groupView = storeOf(c).groupView;
    const now = Date.now();
    // When the summaries will likely not answer, the members come with their last trip, so the
    // fallback costs one more trip (the statuses) rather than a whole second read.
    const fast = await groupView.readSummaries(query.group, options, (read) =>
      expectDecline(read, limits, now, query.agent),
    );
    if (!fast) throw noGroup(query.group);
    const { verdict: result, answeredFrom } = await groupVerdict(
      fast,
      limits,
      now,
      () => groupView.readAfterSummaries(fast),
      { onlyAgent: query.agent },
    );
    const located = locateFaults(result.failing, fast.agents, fast.rollups, now, MAX_LISTED);
    const body = {
      ok: result.ok,
      group: query.group,
      agents: fast.agents.map((a) => a.name),
      checked: result.checked,
      limits,
      failing_count: result.failing.length,
      failing: located.failing,
      diagnosis: located.diagnosis,
      answered_from: answeredFrom,
    };
    return result.ok ? c.json(body, 200) : c.json(body, 412);
  },
);
