import { errors } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBackend, type TestBackend } from '../test/support/backend.ts';
import { type Gateway, startGateway } from './start-gateway.ts';

// A small request can ask for a huge answer: a 32 KB pipeline of GETs of one large value used to
// build a body of gigabytes. The replies to one request are bounded as the request is, checked as
// they arrive from Redis, and going past the bound is a 400 that leaves the gateway working.

const { UpstashError } = errors;

let backend: TestBackend;
let gateway: Gateway;
const MB = 1024 * 1024;
beforeAll(async () => {
  backend = await startTestBackend();
  gateway = await startGateway({
    redisUrl: backend.redisUrl,
    token: backend.token,
    readOnlyToken: backend.readOnlyToken,
    port: 0,
    maxReplyBytes: MB,
  });
  await backend.redis.set('large', 'v'.repeat(100 * 1024));
  // 2 MB, in parts: a request body may not pass 1 MB.
  for (let i = 0; i < 4; i++) await backend.redis.append('huge', 'h'.repeat(MB / 2));
  const items = Array.from({ length: 100_000 }, (_, i) => `item-${i}`);
  for (let i = 0; i < items.length; i += 20_000)
    await backend.redis.rpush('long', ...items.slice(i, i + 20_000));
});
afterAll(async () => {
  await gateway?.close();
  await backend?.close();
});

function post(url: string, path: string, body: unknown, token = backend.readOnlyToken): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'upstash-encoding': 'base64' },
    body: JSON.stringify(body),
  });
}

describe('the size of the replies to one request', () => {
  it('answers 400 to a pipeline whose replies pass the limit, and the next requests work', async () => {
    const gets = Array.from({ length: 200 }, () => ['GET', 'large']);
    const concurrentPing = post(gateway.url, '/', ['PING']);
    const response = await post(gateway.url, '/pipeline', gets);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(
      /^ERR the replies to this request come to more than the gateway's 1 MB limit/,
    );
    expect(((await (await concurrentPing).json()) as { result: string }).result).toBe(
      Buffer.from('PONG').toString('base64'),
    );
    // The connection's replies are still in step: a pipeline within the limit gets its own.
    const fits = await post(gateway.url, '/pipeline', [...gets.slice(0, 5), ['ECHO', 'after']]);
    const items = (await fits.json()) as { result: string }[];
    expect(items).toHaveLength(6);
    expect(Buffer.from(items[4]!.result, 'base64').toString()).toBe('v'.repeat(100 * 1024));
    expect(Buffer.from(items[5]!.result, 'base64').toString()).toBe('after');
  });

  it('bounds one large value, one long array and a transaction the same way', async () => {
    for (const [path, body] of [
      ['/', ['GET', 'huge']],
      ['/', ['LRANGE', 'long', '0', '-1']],
      [
        '/multi-exec',
        [
          ['GET', 'large'],
          ['GET', 'huge'],
        ],
      ],
    ] as const) {
      const response = await post(gateway.url, path, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(((await response.json()) as { error: string }).error).toMatch(/1 MB limit/);
    }
    const reader = backend.client({ url: gateway.url, token: backend.readOnlyToken });
    const error = await reader.get('huge').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstashError);
    expect((error as Error).message).toMatch(/1 MB limit/);
    expect(await reader.lrange('long', 0, 2)).toEqual(['item-0', 'item-1', 'item-2']);
  });

  it('applies a 64 MB limit by default', async () => {
    await backend.redis.set('default-large', 'd'.repeat(900 * 1024));
    const gets = Array.from({ length: 80 }, () => ['GET', 'default-large']);
    const response = await post(backend.gatewayUrl, '/pipeline', gets);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(/64 MB limit/);
    expect(await backend.redis.strlen('default-large')).toBe(900 * 1024);
  });
});
