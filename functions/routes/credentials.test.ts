import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keySchema } from '../../shared/keys.ts';
import { type ApiHarness, startApiHarness, TOKENS } from '../testing/api-harness.ts';

// /v1/agents/{agent}/credentials through the API, the gateway and a real redis-server: the token
// comes back once, works for the agent's own keys only, dies at rotation and at revocation, and
// the API's own token goes on working throughout.

let api: ApiHarness;
const keys = keySchema();
beforeAll(async () => {
  api = await startApiHarness();
  await api.backend.redis.flushdb();
});
afterAll(() => api?.close());

const asAgent = (token: string) =>
  new Redis({
    url: api.backend.gatewayUrl,
    token,
    automaticDeserialization: false,
    retry: false,
    enableTelemetry: false,
  });

describe('agent credentials', () => {
  it('creates, shows without the token, rotates and revokes', async () => {
    expect((await api.call('GET', '/v1/agents/edge-1/credentials')).body).toEqual({
      agent: 'edge-1',
      exists: false,
      credential: null,
    });
    const made = await api.call('POST', '/v1/agents/edge-1/credentials');
    expect(made.status).toBe(200);
    expect(made.body).toMatchObject({
      agent: 'edge-1',
      user: 'ping-agent.edge-1',
      acl: 'redis7',
      rotated: false,
    });
    const token = made.body.token as string;
    const agent = asAgent(token);
    await agent.set(keys.agentOnline('edge-1'), '{}');
    await expect(agent.set(keys.agentOnline('edge-2'), '{}')).rejects.toThrow(/NOPERM/);

    const shown = await api.call('GET', '/v1/agents/edge-1/credentials', { token: TOKENS.read });
    expect(shown.body).toMatchObject({
      exists: true,
      credential: { user: 'ping-agent.edge-1', acl: 'redis7' },
    });
    expect(JSON.stringify(shown.body)).not.toContain(token);
    // Making one is a write.
    expect((await api.call('POST', '/v1/agents/edge-1/credentials', { token: TOKENS.read })).status).toBe(
      403,
    );

    const rotated = await api.call('POST', '/v1/agents/edge-1/credentials');
    expect(rotated.body.rotated).toBe(true);
    await expect(agent.get(keys.configVersion())).rejects.toThrow(/Unauthorized/);
    const next = asAgent(rotated.body.token);
    await next.set(keys.agentOnline('edge-1'), '{"n":2}');
    expect((await api.call('GET', '/v1/agents')).status).toBe(200);

    expect((await api.call('DELETE', '/v1/agents/edge-1/credentials')).body).toEqual({ revoked: 'edge-1' });
    await expect(next.set(keys.agentOnline('edge-1'), '{"n":3}')).rejects.toThrow(/Unauthorized/);
    expect(await api.backend.redis.get(keys.agentOnline('edge-1'))).toBe('{"n":2}');
    const again = await api.call('DELETE', '/v1/agents/edge-1/credentials');
    expect(again.status).toBe(404);
    expect(again.body.error.type).toBe('not_found');
    expect((await api.call('GET', '/v1/agents')).status).toBe(200);
  });

  it('refuses a bad agent name with the one error envelope', async () => {
    const res = await api.call('POST', '/v1/agents/bad_name/credentials');
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/not a valid agent name/);
  });
});
