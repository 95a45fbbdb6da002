import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient, isRetryable } from '../agent/daemon/redis-client.ts';
import { type Gateway, startGateway } from '../gateway/start-gateway.ts';
import { startTestBackend, type TestBackend } from '../test/support/backend.ts';
import { RedisRequestError, RestRedis, restRequester } from './redis-requester.ts';

// The requester both sides give @upstash/redis, against a real redis-server behind our gateway:
// what it counts, and how it classifies each way a call can fail.

let backend: TestBackend;
let stub: Server;
let stubUrl: string;
let stubAnswer: (body: string) => { status: number; body: string } | null;

beforeAll(async () => {
  backend = await startTestBackend();
  // A loopback endpoint that answers whatever the test says, or never (for the timeout).
  stub = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      const answer = stubAnswer(body);
      if (answer) res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
    });
  });
  await new Promise<void>((r) => stub.listen(0, '127.0.0.1', r));
  stubUrl = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
});
afterAll(async () => {
  stub?.closeAllConnections();
  await new Promise((r) => stub?.close(r));
  await backend?.close();
});

const client = (overrides: { url?: string; token?: string; timeoutMs?: number } = {}) =>
  new RestRedis(
    restRequester({
      url: overrides.url ?? backend.gatewayUrl,
      token: overrides.token ?? backend.token,
      retries: 0,
      retryDelayMs: 0,
      timeoutMs: overrides.timeoutMs ?? 2_000,
    }),
  );

async function failure(call: Promise<unknown>): Promise<RedisRequestError> {
  const error = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RedisRequestError);
  return error as RedisRequestError;
}

describe('restRequester', () => {
  it('counts requests and commands (each command of a pipeline) and records the status', async () => {
    const redis = client();
    await redis.set('r:a', '42');
    const p = redis.pipeline();
    p.get('r:a');
    p.get('r:missing');
    p.incr('r:n');
    expect(await p.exec()).toEqual(['42', null, 1]);
    expect(redis.stats).toEqual({ requests: 2, commands: 4, failures: 0, lastStatus: 200 });
  });

  it('hands values back as Redis holds them, without auto-pipelining', async () => {
    const redis = client();
    await redis.set('r:json', '{"a":1}');
    const [json, number] = await Promise.all([redis.get('r:json'), redis.get('r:a')]);
    expect(json).toBe('{"a":1}');
    expect(number).toBe('42');
    // Two calls in the same tick are two requests: nothing batches them behind the store's back.
    expect(redis.stats.requests).toBe(3);
  });

  it('does not touch the global fetch', () => {
    const before = globalThis.fetch;
    createRedisClient(backend.gatewayUrl, backend.token, 1_000);
    expect(globalThis.fetch).toBe(before);
  });

  it('a command Redis refuses is "refused", alone or in a pipeline, with Redis\'s reply', async () => {
    const redis = client();
    await redis.set('r:string', 'x');
    const single = await failure(redis.sadd('r:string', 'm'));
    expect(single).toMatchObject({ failure: 'refused', status: 400 });
    expect(single.message).toMatch(/^WRONGTYPE /);
    const p = redis.pipeline();
    p.get('r:a');
    p.sadd('r:string', 'm');
    const piped = await failure(p.exec());
    expect(piped).toMatchObject({ failure: 'refused', status: 200 });
    expect(piped.message).toMatch(/^WRONGTYPE /);
    expect(isRetryable(piped)).toBe(false);
    // Kept errors are handed back beside the results.
    const kept = redis.pipeline();
    kept.get('r:a');
    kept.sadd('r:string', 'm');
    const replies = await kept.exec({ keepErrors: true });
    expect(replies[0]).toMatchObject({ result: '42' });
    expect(replies[1]!.error).toMatch(/^WRONGTYPE /);
  });

  it('a wrong token is "refused" with its 401', async () => {
    const redis = client({ token: 'not-the-token' });
    expect(await failure(redis.get('r:a'))).toMatchObject({ failure: 'refused', status: 401 });
    expect(redis.stats).toMatchObject({ requests: 1, failures: 1, lastStatus: 401 });
  });

  it('no answer is "unavailable": a stopped gateway, redis-server down behind it, a timeout', async () => {
    const gateway: Gateway = await startGateway({
      redisUrl: backend.redisUrl,
      token: backend.token,
      port: 0,
    });
    const redis = client({ url: gateway.url });
    expect(await redis.get('r:a')).toBe('42');
    await gateway.close();
    const refusedConnection = await failure(redis.get('r:a'));
    expect(refusedConnection).toMatchObject({ failure: 'unavailable', status: null });
    expect(isRetryable(refusedConnection)).toBe(true);
    expect(redis.stats).toMatchObject({ requests: 2, failures: 1, lastStatus: null });

    await backend.stopRedis();
    try {
      expect(await failure(client().get('r:a'))).toMatchObject({ failure: 'unavailable', status: 500 });
    } finally {
      await backend.startRedis();
    }

    stubAnswer = () => null;
    const started = Date.now();
    expect(await failure(client({ url: stubUrl, timeoutMs: 300 }).get('r:a'))).toMatchObject({
      failure: 'unavailable',
      status: null,
    });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('a reply that passes with time (LOADING, BUSY) and a non-protocol answer are "unavailable"', async () => {
    stubAnswer = () => ({
      status: 200,
      body: JSON.stringify([{ result: 'OK' }, { error: 'LOADING Redis is loading' }]),
    });
    const p = client({ url: stubUrl }).pipeline();
    p.set('a', '1');
    p.set('b', '1');
    expect(await failure(p.exec({ keepErrors: true }))).toMatchObject({
      failure: 'unavailable',
      status: 200,
    });

    stubAnswer = () => ({
      status: 400,
      body: JSON.stringify({ error: 'BUSY Redis is busy running a script' }),
    });
    expect(await failure(client({ url: stubUrl }).get('a'))).toMatchObject({
      failure: 'unavailable',
      status: 400,
    });

    stubAnswer = () => ({ status: 200, body: '<html>sign in to the network</html>' });
    expect(await failure(client({ url: stubUrl }).get('a'))).toMatchObject({
      failure: 'unavailable',
      status: 200,
    });
  });
});
