import { createRoute, z } from '@hono/zod-openapi';
import { credentialStore } from '../../shared/store/credentials.ts';
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
  const [[summary], registered] = await Promise.all([
    store.agents.summaries([agent]),
    store.agents.isRegistered(agent),
  ]);
  if (!summary || (!registered && !summary.online && summary.job_count === 0)) throw noAgent(agent);
  return summary;
}

function noAgent(agent: string) {
  return apiError(404, 'not_found', `no agent named ${agent}`, { agent });
}

// /v1/agents/{agent}/credentials: the agent's own Redis user (shared/agent-acl.ts), so a field
// agent holds a token that reaches only its own keys instead of the one that reaches everything.

const credentialInfo = z.object({
  agent: z.string(),
  user: z.string().openapi({ description: 'the Redis ACL user' }),
  created_at: z.string().openapi({ description: 'when the user was made or last rotated (ISO 8601)' }),
  acl: z.enum(['redis7', 'redis6']).openapi({
    description:
      'redis7: read-only and write-only key permissions and an SADD-only selector; redis6: plain key patterns (see the README for what that leaves open)',
  }),
});

agents.openapi(
  createRoute({
    method: 'post',
    path: '/{agent}/credentials',
    tags,
    security,
    summary: "Create or rotate the agent's Redis credential; the token is shown only in this answer",
    request: { params: agentParams },
    responses: {
      200: json(
        credentialInfo.extend({
          token: z
            .string()
            .openapi({ description: 'UPSTASH_REDIS_REST_TOKEN for the agent; not kept anywhere' }),
          rotated: z
            .boolean()
            .openapi({ description: 'true when an earlier token was replaced (it no longer works)' }),
        }),
        'the new credential',
      ),
    },
  }),
  async (c) => {
    const { agent } = c.req.valid('param');
    const credentials = credentialStore(storeOf(c));
    const rotated = (await credentials.get(agent)) !== null;
    const { token, info } = await credentials.issue(agent);
    c.header('cache-control', 'no-store');
    return c.json({ ...info, token, rotated }, 200);
  },
);

agents.openapi(
  createRoute({
    method: 'get',
    path: '/{agent}/credentials',
    tags,
    security,
    summary: 'Whether the agent has a Redis credential and when it was made (never the token)',
    request: { params: agentParams },
    responses: {
      200: json(
        z.object({ agent: z.string(), exists: z.boolean(), credential: credentialInfo.nullable() }),
        'the credential, if any',
      ),
    },
  }),
  async (c) => {
    const { agent } = c.req.valid('param');
    const credential = await credentialStore(storeOf(c)).get(agent);
    return c.json({ agent, exists: credential !== null, credential }, 200);
  },
);

agents.openapi(
  createRoute({
    method: 'delete',
    path: '/{agent}/credentials',
    tags,
    security,
    summary: "Revoke the agent's Redis credential at once",
    request: { params: agentParams },
    responses: {
      200: json(z.object({ revoked: z.string() }), 'revoked: its token no longer works'),
      404: errorResponse('the agent has no credential'),
    },
  }),
  async (c) => {
    const { agent } = c.req.valid('param');
    if (!(await credentialStore(storeOf(c)).revoke(agent))) {
      throw apiError(404, 'not_found', `agent ${agent} has no credential`, { agent });
    }
    return c.json({ revoked: agent }, 200);
  },
);
