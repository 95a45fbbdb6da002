import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBackend, type TestBackend } from '../test/support/backend.ts';

// The Upstash REST documentation's path form (`/set/key/value`, a value as the body of a POST,
// options as the query), which @upstash/redis never uses: raw fetch against a real redis-server.

let backend: TestBackend;
beforeAll(async () => {
  backend = await startTestBackend();
});
afterAll(() => backend?.close());

function call(method: string, path: string, body?: RequestInit['body']): Promise<Response> {
  return fetch(`${backend.gatewayUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${backend.token}`, 'upstash-encoding': 'base64' },
    ...(body === undefined ? {} : { body }),
  });
}

async function result(response: Response): Promise<unknown> {
  expect(response.status).toBe(200);
  return ((await response.json()) as { result: unknown }).result;
}

const b64 = (bytes: number[] | string) =>
  (typeof bytes === 'string' ? Buffer.from(bytes) : Buffer.from(bytes)).toString('base64');

describe('the path form', () => {
  it('stores a binary POST body byte for byte', async () => {
    const bytes = [0xff, 0x00, 0xfe, 0x80, 0x0a];
    expect(await result(await call('POST', '/set/binary', new Uint8Array(bytes)))).toBe(b64('OK'));
    expect(await result(await call('GET', '/get/binary'))).toBe(b64(bytes));
    expect(await result(await call('GET', '/strlen/binary'))).toBe(bytes.length);
  });

  it('appends the query options after a POSTed or PUT value', async () => {
    expect(await result(await call('POST', '/set/q?EX=100', 'value'))).toBe(b64('OK'));
    const ttl = (await result(await call('GET', '/ttl/q'))) as number;
    expect(ttl).toBeGreaterThan(95);
    expect(ttl).toBeLessThanOrEqual(100);
    // An option without a value is one argument: SET q other NX does nothing, q exists.
    expect(await result(await call('PUT', '/set/q?NX', 'other'))).toBeNull();
    expect(await result(await call('GET', '/get/q'))).toBe(b64('value'));
    // The token in the query is not an argument.
    const withToken = await fetch(`${backend.gatewayUrl}/set/q2/v?EX=50&_token=${backend.token}`);
    expect(await result(withToken)).toBe('OK');
    expect(await backend.redis.ttl('q2')).toBeGreaterThan(45);
  });

  it('accepts percent-encoded bytes that are not UTF-8', async () => {
    expect(await result(await call('GET', '/set/k%FF%FE/v%80'))).toBe(b64('OK'));
    expect(await result(await call('GET', '/get/k%FF%FE'))).toBe(b64([0x76, 0x80]));
    expect(await result(await call('GET', '/keys/k*'))).toEqual([b64([0x6b, 0xff, 0xfe])]);
    const bad = await call('GET', '/get/k%F');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/not validly percent-encoded/);
  });

  it('runs commands for HEAD, GET, POST and PUT only; other methods get 405 and change nothing', async () => {
    await backend.redis.set('m', 'before');
    for (const method of ['DELETE', 'PATCH', 'OPTIONS']) {
      const response = await call(method, '/set/m/after');
      expect(response.status, method).toBe(405);
      expect(response.headers.get('allow'), method).toBe('HEAD, GET, POST, PUT');
    }
    expect(await backend.redis.get('m')).toBe('before');
    const head = await call('HEAD', '/get/m');
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect(await result(await call('PUT', '/set/m', 'put'))).toBe(b64('OK'));
    expect(await backend.redis.get('m')).toBe('put');
    const getRoot = await call('GET', '/');
    expect(getRoot.status).toBe(405);
    expect(getRoot.headers.get('allow')).toBe('POST');
  });
});
