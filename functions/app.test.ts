import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keySchema } from '../shared/keys.ts';
import { app } from './app.ts';
import { MAX_BODY_BYTES } from './body.ts';
import { type ApiHarness, snapshot, startApiHarness, TOKENS } from './testing/api-harness.ts';

// Rules every route shares: auth, body limits, the error envelope, health, OpenAPI, config errors.

let api: ApiHarness;
// biome-ignore lint/suspicious/noExplicitAny: error bodies are read field by field
type ErrorBody = { error: any };

beforeAll(async () => {
  api = await startApiHarness();
});
afterAll(() => api?.close());

describe('auth', () => {
  it('answers 401 without a token, with a wrong one, or with another scheme', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer nope' },
      { authorization: `Basic ${TOKENS.write}` },
    ];
    for (const headers of attempts) {
      const res = await api.raw('/v1/groups', { headers });
      expect(res.status).toBe(401);
      expect(((await res.json()) as ErrorBody).error.type).toBe('unauthorized');
    }
    // A prefix of a valid token is not valid.
    expect((await api.call('GET', '/v1/groups', { token: TOKENS.write.slice(0, -1) })).status).toBe(401);
  });

  it('accepts both values of API_TOKEN (rotation) for reads and writes', async () => {
    for (const token of [TOKENS.write, TOKENS.writeNext]) {
      expect((await api.call('PUT', '/v1/groups/a', { token, body: { ips: [] } })).status).toBe(200);
    }
  });

  it('lets READ_TOKEN read and answers 403 when it writes', async () => {
    expect((await api.call('GET', '/v1/groups', { token: TOKENS.read })).status).toBe(200);
    for (const [method, path] of [
      ['PUT', '/v1/groups/b'],
      ['PATCH', '/v1/groups/a'],
      ['DELETE', '/v1/groups/a'],
      ['DELETE', '/v1/agents/x'],
    ] as const) {
      const res = await api.call(method, path, { token: TOKENS.read, body: { ips: [] } });
      expect(res.status).toBe(403);
      expect(res.body.error.type).toBe('forbidden');
    }
  });

  it('needs no token for health, /openapi.json and /docs', async () => {
    expect((await api.call('GET', '/v1/health', { token: null })).body).toEqual({ ok: true, redis: 'up' });
    expect((await api.call('GET', '/openapi.json', { token: null })).status).toBe(200);
    const docs = await api.call('GET', '/docs', { token: null });
    expect(docs.status).toBe(200);
    expect(docs.body).toContain('/openapi.json');
    const dashboard = await api.call('GET', '/dashboard', { token: null });
    expect(dashboard.status).toBe(200);
    expect(dashboard.headers.get('content-type')).toContain('text/html');
  });
});

describe('order: authentication, then routing, then the body', () => {
  const notUtf8 = new Uint8Array([0xff, 0xfe]);

  it('answers 401/403 before looking at a body that is not UTF-8', async () => {
    const cases: [Record<string, string>, number][] = [
      [{}, 401],
      [{ authorization: 'Bearer nope' }, 401],
      [{ authorization: `Bearer ${TOKENS.read}` }, 403],
    ];
    for (const [auth, status] of cases) {
      for (const type of [{}, { 'content-type': 'application/json' }] as Record<string, string>[]) {
        const res = await api.raw('/v1/groups/dc1', {
          method: 'PUT',
          headers: { ...auth, ...type },
          body: notUtf8,
        });
        expect(res.status, JSON.stringify({ auth, type })).toBe(status);
      }
    }
    const bad = await api.raw('/v1/groups/dc1', {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKENS.write}`, 'content-type': 'application/json' },
      body: notUtf8,
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as ErrorBody).error.message).toContain('UTF-8');
  });

  it('answers 401 before 413 and 415', async () => {
    const big = 'x'.repeat(MAX_BODY_BYTES + 1);
    for (const headers of [
      { 'content-type': 'application/json' },
      { 'content-type': 'text/csv' },
      {},
    ] as Record<string, string>[]) {
      const res = await api.raw('/v1/groups/dc1', { method: 'PUT', headers, body: big });
      expect(res.status).toBe(401);
    }
  });

  it('answers a method a path does not have the same with or without Content-Type: 405 with Allow', async () => {
    const cases: [string, string, string | null, string][] = [
      ['POST', '/v1/health', null, 'GET, HEAD'],
      ['PUT', '/v1/health', null, 'GET, HEAD'],
      ['POST', '/v1/groups', TOKENS.write, 'GET, HEAD'],
      ['DELETE', '/v1/groups', TOKENS.write, 'GET, HEAD'],
      ['POST', '/v1/groups/dc1', TOKENS.write, 'DELETE, GET, HEAD, PATCH, PUT'],
      ['GET', '/v1/webhooks/groups/dc1', null, 'POST'],
      ['POST', '/openapi.json', null, 'GET, HEAD'],
    ];
    for (const [method, path, token, allow] of cases) {
      for (const type of [null, 'application/json', 'text/plain']) {
        const headers: Record<string, string> = {};
        if (token) headers.authorization = `Bearer ${token}`;
        if (type) headers['content-type'] = type;
        const res = await api.raw(path, { method, headers, body: method === 'GET' ? undefined : '{}' });
        const body = (await res.json()) as ErrorBody;
        expect(res.status, `${method} ${path} ${type}`).toBe(405);
        expect(res.headers.get('allow')).toBe(allow);
        expect(body.error).toMatchObject({ type: 'method_not_allowed', allow: allow.split(', ') });
      }
    }
  });

  it('answers TRACE like any other method a path does not have', async () => {
    // Fetch refuses to build a TRACE request; the app reads only the method, so it is set by hand.
    for (const type of [null, 'application/json']) {
      const request = new Request('http://api/v1/health', type ? { headers: { 'content-type': type } } : {});
      Object.defineProperty(request, 'method', { value: 'TRACE' });
      const res = await app.fetch(request, api.env);
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe('GET, HEAD');
    }
  });

  it('answers 404 for a path no route has, with or without Content-Type', async () => {
    for (const type of [null, 'application/json']) {
      const headers: Record<string, string> = { authorization: `Bearer ${TOKENS.write}` };
      if (type) headers['content-type'] = type;
      const res = await api.raw('/v1/nothing', { method: 'POST', headers, body: '{}' });
      expect(res.status).toBe(404);
    }
  });
});

describe('errors', () => {
  it('answers 404 JSON for unknown routes', async () => {
    const res = await api.call('GET', '/v2/nothing', { token: null });
    expect(res.status).toBe(404);
    expect(res.body.error.type).toBe('not_found');
    expect((await api.call('GET', '/v1/groups/a/b/c')).status).toBe(404);
  });

  it('refuses a body over 1 MB with 413, by Content-Length and by the bytes actually sent', async () => {
    const big = JSON.stringify({
      ips: Array.from({ length: 90_000 }, (_, i) => `198.18.0.${(i % 250) + 1}`),
    });
    expect(big.length).toBeGreaterThan(MAX_BODY_BYTES);
    const res = await api.call('PUT', '/v1/groups/big', { body: big });
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({ type: 'too_large', limit_bytes: MAX_BODY_BYTES });
    // A stream without Content-Length is counted as it arrives.
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ > 40) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const streamed = await api.raw('/v1/groups/big', {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKENS.write}`, 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(sent).toBeLessThan(40);
  });

  it('tells a command Redis refused (a key of another type) from Redis not answering', async () => {
    await api.backend.redis.set(keySchema().group('wrongtype'), 'written by hand');
    try {
      for (const path of ['/v1/groups/wrongtype', '/v1/check?group=wrongtype']) {
        const res = await api.call('GET', path);
        expect(res.status, path).toBe(500);
        expect(res.body.error.type).toBe('redis_error');
        expect(res.body.error.message).toMatch(/^Redis refused a command: WRONGTYPE /);
        expect(res.body.error.message).not.toContain('command was');
      }
    } finally {
      await api.backend.redis.del(keySchema().group('wrongtype'));
    }
  });

  it('answers 500 naming a missing binding, without a stack trace', async () => {
    for (const binding of ['UPSTASH_REDIS_REST_URL', 'UPSTASH_REDIS_REST_TOKEN', 'API_TOKEN'] as const) {
      const env = { ...api.env, [binding]: undefined };
      const res = await api.raw('/v1/groups', { headers: { authorization: `Bearer ${TOKENS.write}` } }, env);
      expect(res.status).toBe(500);
      const body = (await res.json()) as ErrorBody;
      expect(body.error).toMatchObject({ type: 'config', binding });
      expect(JSON.stringify(body)).not.toMatch(/at .*\.ts/);
    }
  });

  it('reports Redis down as 503 on health and on routes, and recovers', async () => {
    await api.backend.stopRedis();
    try {
      const health = await api.call('GET', '/v1/health', { token: null });
      expect(health.status).toBe(503);
      expect(health.body).toEqual({ ok: false, redis: 'down' });
      const res = await api.call('GET', '/v1/groups');
      expect(res.status).toBe(503);
      expect(res.body.error.type).toBe('redis_unavailable');
    } finally {
      await api.backend.startRedis();
    }
    expect((await api.call('GET', '/v1/health', { token: null })).status).toBe(200);
  });

  it('uses KEY_PREFIX for every key', async () => {
    await api.backend.redis.flushdb();
    const env = { ...api.env, KEY_PREFIX: 'staging:' };
    const res = await api.raw(
      '/v1/groups/dc1',
      {
        method: 'PUT',
        headers: { authorization: `Bearer ${TOKENS.write}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ips: ['198.18.0.1'] }),
      },
      env,
    );
    expect(res.status).toBe(200);
    expect(Object.keys(await snapshot(api.backend)).sort()).toEqual([
      'staging:config-version',
      'staging:group-digest_dc1',
      'staging:group_dc1',
      'staging:groups-list',
    ]);
  });
});

describe('OpenAPI', () => {
  it('documents every route from the zod schemas, with the bearer scheme', async () => {
    const spec = (await api.call('GET', '/openapi.json', { token: null })).body;
    expect(spec.openapi).toBe('3.1.0');
    expect(Object.keys(spec.paths).sort()).toEqual([
      '/v1/agents',
      '/v1/agents/{agent}',
      '/v1/agents/{agent}/credentials',
      '/v1/agents/{agent}/errors',
      '/v1/agents/{agent}/ips',
      '/v1/agents/{agent}/ips/{ip}/history',
      '/v1/agents/{agent}/jobs',
      '/v1/agents/{agent}/jobs/{job}',
      '/v1/alerts',
      '/v1/alerts/{name}',
      '/v1/alerts/{name}/deliveries',
      '/v1/check',
      '/v1/groups',
      '/v1/groups/{group}',
      '/v1/groups/{group}/report',
      '/v1/health',
      '/v1/measurements',
      '/v1/measurements/{id}',
      '/v1/notifiers',
      '/v1/notifiers/{name}',
      '/v1/webhooks/groups/{group}',
    ]);
    expect(spec.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(spec.components.schemas.GroupReplace.additionalProperties).toBe(false);
    expect(spec.paths['/v1/check'].get.responses).toHaveProperty('412');
  });
});
