import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gateway, startGateway } from '../../gateway/start-gateway.ts';
import { startTestBackend, type TestBackend } from '../support/backend.ts';
import { startWranglerDev, type WranglerDev } from './wrangler-dev.ts';

// Redis out of reach, seen from the real Workers runtime: workerd words a refused or dropped
// connection its own way ("Network connection lost."), and the API must still answer the
// documented 503 redis_unavailable on every route, not a 500 internal. The Worker talks to a
// gateway of this file's own, which the test stops and starts on the same port.

const API_TOKEN = 'outage-api-token';

let backend: TestBackend;
let gateway: Gateway;
let api: WranglerDev;

beforeAll(async () => {
  backend = await startTestBackend();
  gateway = await startGateway({ redisUrl: backend.redisUrl, token: backend.token, port: 0 });
  api = await startWranglerDev({
    vars: {
      UPSTASH_REDIS_REST_URL: gateway.url,
      UPSTASH_REDIS_REST_TOKEN: backend.token,
      API_TOKEN,
    },
  });
}, 90_000);

afterAll(async () => {
  await api?.stop();
  await gateway?.close();
  await backend?.close();
});

async function http(method: string, path: string, body?: unknown) {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${API_TOKEN}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  // biome-ignore lint/suspicious/noExplicitAny: answers are read field by field
  return { status: res.status, body: (await res.json()) as any };
}

const calls: [string, string, unknown?][] = [
  ['GET', '/v1/groups'],
  ['PUT', '/v1/groups/dc1', { ips: ['198.18.0.1'] }],
  ['GET', '/v1/check?group=dc1'],
  // Never "no such rule" while Redis cannot say.
  ['GET', '/v1/alerts/nope/deliveries'],
  ['DELETE', '/v1/alerts/nope'],
];

describe('wrangler dev with Redis out of reach', () => {
  it('answers 503 redis_unavailable with the gateway stopped, and recovers when it is back', async () => {
    expect((await http('PUT', '/v1/groups/dc1', { ips: ['198.18.0.1'] })).status).toBe(200);
    const port = gateway.port;
    await gateway.close();
    try {
      for (const [method, path, body] of calls) {
        const res = await http(method, path, body);
        expect({ call: `${method} ${path}`, status: res.status, type: res.body.error?.type }).toEqual({
          call: `${method} ${path}`,
          status: 503,
          type: 'redis_unavailable',
        });
      }
      expect((await http('GET', '/v1/health')).status).toBe(503);
    } finally {
      gateway = await startGateway({ redisUrl: backend.redisUrl, token: backend.token, port });
    }
    expect((await http('GET', '/v1/groups')).status).toBe(200);
  }, 60_000);

  it('answers 503 redis_unavailable with redis-server stopped behind the gateway', async () => {
    await backend.stopRedis();
    try {
      const res = await http('GET', '/v1/groups');
      expect(res.status).toBe(503);
      expect(res.body.error.type).toBe('redis_unavailable');
    } finally {
      await backend.startRedis();
    }
  }, 60_000);
});
