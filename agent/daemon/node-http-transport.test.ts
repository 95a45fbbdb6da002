import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisRequestError, RestRedis, restRequester } from '../../shared/redis-requester.ts';
import { startTestBackend, type TestBackend } from '../../test/support/backend.ts';
import { nodeHttpTransport } from './node-http-transport.ts';
import { isRetryable } from './redis-client.ts';

// The agent's node:http transport under the shared requester, against a real redis-server behind
// our gateway: commands, pipelines, subscribe's event stream, and each way a call fails, which
// must be classified as with fetch.

let backend: TestBackend;
let stub: Server;
let stubUrl: string;
/** What the stub does with a request: answer it, or leave it hanging (headers only, or nothing). */
let stubBehaviour: 'answer-ok' | 'answer-503' | 'silent' | 'headers-only' = 'silent';
let stubConnections = 0;

beforeAll(async () => {
  backend = await startTestBackend();
  stub = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (stubBehaviour === 'answer-ok') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":"OK"}');
      } else if (stubBehaviour === 'answer-503') {
        res.writeHead(503, 'Service Unavailable', { 'content-type': 'text/plain' }).end('try later');
      } else if (stubBehaviour === 'headers-only') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"result":');
      }
    });
  });
  stub.on('connection', () => {
    stubConnections += 1;
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
      transport: nodeHttpTransport(),
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

describe('nodeHttpTransport', () => {
  it('carries commands and pipelines', async () => {
    const redis = client();
    expect(await redis.set('t:a', 'ü 42')).toBe('OK');
    expect(await redis.get('t:a')).toBe('ü 42');
    const p = redis.pipeline();
    p.get('t:a');
    p.get('t:missing');
    p.incr('t:n');
    expect(await p.exec()).toEqual(['ü 42', null, 1]);
    expect(redis.stats).toEqual({ requests: 3, commands: 5, failures: 0, lastStatus: 200 });
  });

  it('keeps its connection open between requests', async () => {
    stubBehaviour = 'answer-ok';
    const redis = client({ url: stubUrl });
    const before = stubConnections;
    for (let i = 0; i < 3; i++) expect(await redis.set('t:a', 'x')).toBe('OK');
    expect(stubConnections - before).toBe(1);
  });

  it('a Redis refusal and an HTTP error answer are classified as with fetch', async () => {
    const redis = client();
    await redis.set('t:string', 'x');
    const wrongType = await failure(redis.sadd('t:string', 'm'));
    expect(wrongType).toMatchObject({ failure: 'refused', status: 400 });
    expect(wrongType.message).toMatch(/^WRONGTYPE /);

    expect(await failure(client({ token: 'not-the-token' }).get('t:a'))).toMatchObject({
      failure: 'refused',
      status: 401,
    });

    stubBehaviour = 'answer-503';
    const busy = await failure(client({ url: stubUrl }).get('t:a'));
    expect(busy).toMatchObject({ failure: 'unavailable', status: 503 });
    expect(busy.message).toBe('Redis answered HTTP 503: try later');
  });

  it('no answer is "unavailable": a refused connection, a timeout before or within the answer', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((r) => closed.close(r));
    const refusedConnection = await failure(client({ url: closedUrl }).get('t:a'));
    expect(refusedConnection).toMatchObject({ failure: 'unavailable', status: null });
    expect(refusedConnection.message).toMatch(/ECONNREFUSED/);
    expect(isRetryable(refusedConnection)).toBe(true);

    stubBehaviour = 'silent';
    const silent = await failure(client({ url: stubUrl, timeoutMs: 300 }).get('t:a'));
    expect(silent).toMatchObject({ failure: 'unavailable', status: null });
    expect(silent.message).toMatch(/timeout/);

    stubBehaviour = 'headers-only';
    const redis = client({ url: stubUrl, timeoutMs: 300 });
    const halfAnswered = await failure(redis.get('t:a'));
    expect(halfAnswered).toMatchObject({ failure: 'unavailable', status: null });
    expect(halfAnswered.message).toMatch(/timeout/);
    expect(redis.stats).toMatchObject({ requests: 1, failures: 1, lastStatus: null });
  });

  it("streams subscribe's events: a message published elsewhere arrives", async () => {
    const redis = client();
    const subscriber = redis.subscribe<string>('t:news');
    try {
      await new Promise((resolve) => subscriber.on('subscribe', resolve));
      const received = new Promise((resolve) => subscriber.on('message', resolve));
      expect(await backend.redis.publish('t:news', 'hello, ü')).toBe(1);
      expect(await received).toEqual({ channel: 't:news', message: 'hello, ü' });
    } finally {
      await subscriber.unsubscribe();
    }
  });
});
