import { createRoute, z } from '@hono/zod-openapi';
import type { AgentSummary, Store } from '../../shared/store.ts';
import { storeOf } from '../env.ts';
import { apiError } from '../errors.ts';
import { newRouter } from '../router.ts';
import { agentBody, agentParams, errorResponse, json } from '../schemas.ts';

// /v1/agents: who is registered, who is online (the heartbeat key exists), how much each does.

export const agents = newRouter();

const tags = ['agents'];
const security = [{ bearer: [] }];

agents.openapi(
  createRoute({
    method: 'get',
    path: '/',
    tags,
    security,
    summary: 'Every registered agent',
    responses: { 200: json(z.object({ agents: z.array(agentBody) }), 'the agents') },
  }),
  async (c) => {
    const store = storeOf(c);
    return c.json({ agents: await store.agents.summaries(await store.agents.names()) }, 200);
  },
);

agents.openapi(
  createRoute({
    method: 'get',
    path: '/{agent}',
    tags,
    security,
    summary: 'One agent',
    request: { params: agentParams },
    responses: { 200: json(agentBody, 'the agent'), 404: errorResponse('unknown agent') },
  }),
  async (c) => {
    const { agent } = c.req.valid('param');
    return c.json(await knownAgent(storeOf(c), agent), 200);
  },
);

agents.openapi(
  createRoute({
    method: 'delete',
    path: '/{agent}',
    tags,
    security,
    summary: 'Forget an agent: its jobs, registration, heartbeat, err list, statuses, history and summaries',
    request: { params: agentParams },
    responses: {
      200: json(z.object({ deleted: z.string() }), 'forgotten'),
      404: errorResponse('unknown agent'),
    },
  }),
  async (c) => {
    const { agent } = c.req.valid('param');
    // The store changes nothing, not even the config version, when nothing of the agent exists.
    if (!(await storeOf(c).agents.remove(agent))) throw noAgent(agent);
    return c.json({ deleted: agent }, 200);
  },
);

/** The agent's summary; 404 unless it is registered, online or has jobs. */
async function knownAgent(store: Store, agent: string): Promise<AgentSummary> {
  const [[summary], names] = await Promise.all([store.agents.summaries([agent]), store.agents.names()]);
  if (!summary || (!names.includes(agent) && !summary.online && summary.job_count === 0))
    throw noAgent(agent);
  return summary;
}

export function noAgent(agent: string) {
  return apiError(404, 'not_found', `no agent named ${agent}`, { agent });
}
