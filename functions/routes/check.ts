import { createRoute, z } from '@hono/zod-openapi';
import { DEFAULT_LIMITS, type Limits, verdict } from '../check/verdict.ts';
import { storeOf } from '../env.ts';
import { newRouter } from '../router.ts';
import { agentName, checkBody, commonErrors, errorResponse, groupName, json } from '../schemas.ts';
import { noGroup } from './groups.ts';

// GET /v1/check: a verdict a CI step can act on. 200 when every (agent, IP) of the group is within
// the limits, 412 otherwise, so `curl --fail` stops a pipeline. At most three sequential Redis
// round trips for ordinary groups (see shared/store/group-view.ts).

export const check = newRouter();

/** Failures listed in one answer; `failing_count` has them all. */
const MAX_LISTED = 1_000;

const number = (min: number, max: number) =>
  z
    .string()
    .regex(/^[0-9]+(\.[0-9]+)?$/, 'must be a non-negative number')
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be from ${min} to ${max}`);

const checkQuery = z.strictObject({
  group: groupName,
  agent: agentName.optional(),
  max_loss: number(0, 1).optional().openapi({ type: 'string', description: '0..1, default 0' }),
  max_rtt_ms: number(0, 600_000).optional().openapi({ type: 'string', description: 'default: no RTT limit' }),
  max_age_s: number(1, 86_400 * 30)
    .optional()
    .openapi({ type: 'string', description: 'default 180' }),
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
      200: json(checkBody, 'every (agent, IP) meets the limits'),
      412: json(checkBody, 'something fails; see `failing`'),
      404: errorResponse('no such group'),
      ...commonErrors,
    },
  }),
  async (c) => {
    const query = c.req.valid('query');
    const limits: Limits = {
      max_loss: query.max_loss ?? DEFAULT_LIMITS.max_loss,
      max_rtt_ms: query.max_rtt_ms ?? DEFAULT_LIMITS.max_rtt_ms,
      max_age_s: query.max_age_s ?? DEFAULT_LIMITS.max_age_s,
    };
    const view = await storeOf(c).groupView.read(query.group, query.agent ? { agent: query.agent } : {});
    if (!view) throw noGroup(query.group);
    const result = verdict(view, limits, Date.now(), query.agent);
    const body = {
      ok: result.ok,
      group: query.group,
      agents: view.agents.map((a) => a.name),
      checked: result.checked,
      limits,
      failing_count: result.failing.length,
      failing: result.failing.slice(0, MAX_LISTED),
    };
    return result.ok ? c.json(body, 200) : c.json(body, 412);
  },
);
