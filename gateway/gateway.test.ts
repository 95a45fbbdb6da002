import { errors } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBackend, type TestBackend } from '../test/support/backend.ts';

const { UpstashError } = errors;

// The gateway through the real @upstash/redis client against a real redis-server: if the client
// cannot tell the gateway from Upstash, these pass.

let backend: TestBackend;
beforeAll(async () => {
  // Scripts are refused by default; these tests check how their replies come back.
  backend = await startTestBackend({ allowCommands: ['flushdb', 'eval', 'evalsha', 'script'] });
});
afterAll(() => backend?.close());

describe('single commands', () => {
  it('answers PING', async () => {
    expect(await backend.redis.ping()).toBe('PONG');
  });

  it('round-trips strings that look like base64, JSON, numbers or nothing', async () => {
    const values = ['T0s=', 'aGVsbG8=', '{"a":1}', '[1,2]', '42', '-0', '1e3', 'true', 'null', '', ' ', 'OK'];
    for (const [i, value] of values.entries()) {
      await backend.redis.set(`look-alike-${i}`, value);
      expect(await backend.redis.get(`look-alike-${i}`)).toBe(value);
    }
  });

  it('round-trips unicode: emoji, CJK, combining marks, control characters', async () => {
    const value = '📡 ping 延迟 지연 é\u0301 \u0000\u0007\t\n"\\';
    await backend.redis.set('unicode', value);
    expect(await backend.redis.get('unicode')).toBe(value);
    await backend.redis.hset('unicode-hash', { 字段: '值🚀' });
    expect(await backend.redis.hget('unicode-hash', '字段')).toBe('值🚀');
  });

  it('round-trips a large value (~500 KB)', async () => {
    const value = 'x'.repeat(250_000) + '😀'.repeat(60_000);
    await backend.redis.set('large', value);
    expect(await backend.redis.get('large')).toBe(value);
    expect(await backend.redis.strlen('large')).toBe(250_000 + 4 * 60_000);
  });

  it('sends numbers and booleans as strings and maps integers and nil back', async () => {
    await backend.redis.set('number', 12.5);
    expect(await backend.redis.get('number')).toBe('12.5');
    expect(await backend.redis.incr('counter')).toBe(1);
    expect(await backend.redis.incrby('counter', 41)).toBe(42);
    expect(await backend.redis.get('missing')).toBeNull();
    expect(await backend.redis.exists('counter', 'missing')).toBe(1);
  });

  it('maps nested arrays and nil inside arrays', async () => {
    await backend.redis.set('a', '1');
    expect(await backend.redis.mget('a', 'missing')).toEqual(['1', null]);
    await backend.redis.eval('return 1', [], []);
    const nested = await backend.redis.eval("return {1, 'two', {3, 'four', {}}, false}", [], []);
    expect(nested).toEqual([1, 'two', [3, 'four', []], null]);
  });
});

describe('data types', () => {
  it('hashes', async () => {
    expect(await backend.redis.hset('h', { a: '1', b: 'two' })).toBe(2);
    // With automatic deserialization off the client hands HGETALL's flat array through as is.
    expect(await backend.redis.hgetall('h')).toEqual(['a', '1', 'b', 'two']);
    expect(await backend.client({ automaticDeserialization: true }).hgetall('h')).toEqual({ a: 1, b: 'two' });
    expect(await backend.redis.hincrby('h', 'a', 2)).toBe(3);
    expect(await backend.redis.hdel('h', 'b')).toBe(1);
    expect(await backend.redis.hkeys('h')).toEqual(['a']);
  });

  it('sets', async () => {
    expect(await backend.redis.sadd('s', '198.18.0.1', '198.18.0.2', 'fd00::1')).toBe(3);
    expect((await backend.redis.smembers('s')).sort()).toEqual(['198.18.0.1', '198.18.0.2', 'fd00::1']);
    expect(await backend.redis.sismember('s', 'fd00::1')).toBe(1);
    expect(await backend.redis.srem('s', '198.18.0.1')).toBe(1);
    expect(await backend.redis.scard('s')).toBe(2);
  });

  it('sorted sets', async () => {
    await backend.redis.zadd('z', { score: 2, member: 'b' }, { score: 1.5, member: 'a' });
    expect(await backend.redis.zrange('z', 0, -1)).toEqual(['a', 'b']);
    expect(await backend.redis.zrange('z', 0, -1, { withScores: true })).toEqual(['a', '1.5', 'b', '2']);
    expect(await backend.redis.zscore('z', 'a')).toBe('1.5');
    expect(await backend.redis.zincrby('z', 1, 'a')).toBe('2.5');
  });

  it('expiry', async () => {
    await backend.redis.set('ttl', 'v', { ex: 100 });
    const ttl = await backend.redis.ttl('ttl');
    expect(ttl).toBeGreaterThan(95);
    expect(ttl).toBeLessThanOrEqual(100);
  });
});

describe('pipelines and transactions', () => {
  it('runs an explicit pipeline in order', async () => {
    const result = await backend.redis.pipeline().set('p', '1').incr('p').get('p').del('p').exec();
    expect(result).toEqual(['OK', 2, '2', 1]);
  });

  it('answers every item of a pipeline even when one fails', async () => {
    await backend.redis.set('not-a-number', 'abc');
    const result = await backend.redis
      .pipeline()
      .set('ok', '1')
      .incr('not-a-number')
      .get('ok')
      .exec({ keepErrors: true });
    expect(result[0]).toEqual({ result: 'OK', error: undefined });
    expect(result[1]!.error).toBe('ERR value is not an integer or out of range');
    expect(result[2]).toEqual({ result: '1', error: undefined });
  });

  it('auto-pipelines concurrent commands into one request', async () => {
    const redis = backend.client({ enableAutoPipelining: true });
    const count = 200;
    const writes = await Promise.all(
      Array.from({ length: count }, (_, i) => redis.set(`auto-${i}`, `v${i}`)),
    );
    expect(writes.every((w) => w === 'OK')).toBe(true);
    const reads = await Promise.all(Array.from({ length: count }, (_, i) => redis.get(`auto-${i}`)));
    expect(reads).toEqual(Array.from({ length: count }, (_, i) => `v${i}`));
    // The whole batch went out as a handful of HTTP requests, not 400.
    expect((redis as unknown as { pipelineCounter: number }).pipelineCounter).toBeLessThan(10);
  });

  it("keeps each request's encoding when base64 and plain requests share a Redis connection", async () => {
    const base64 = backend.client();
    const plain = backend.client({ responseEncoding: false });
    const values = Array.from({ length: 300 }, (_, i) => `${i % 2 ? '値' : 'v'}-${i}-${'=/+'.repeat(i % 5)}`);
    await Promise.all(values.map((v, i) => (i % 2 ? plain : base64).set(`mixed-${i}`, v)));
    const reads = await Promise.all(values.map((_, i) => (i % 3 ? plain : base64).get(`mixed-${i}`)));
    expect(reads).toEqual(values);
  });

  it('runs a 1000-command pipeline', async () => {
    const pipeline = backend.redis.pipeline();
    for (let i = 0; i < 500; i++) pipeline.set(`bulk-${i}`, `value-${i}`).get(`bulk-${i}`);
    const results = await pipeline.exec();
    expect(results).toHaveLength(1000);
    expect(results[998]).toBe('OK');
    expect(results[999]).toBe('value-499');
  });

  it('runs multi() atomically', async () => {
    const result = await backend.redis.multi().set('tx', '1').incr('tx').get('tx').exec();
    expect(result).toEqual(['OK', 2, '2']);
  });

  it('reports a runtime error inside a transaction for that command only', async () => {
    await backend.redis.set('tx-string', 'abc');
    const result = await backend.redis
      .multi()
      .incr('tx-string')
      .set('tx-after', 'ran')
      .exec({ keepErrors: true });
    expect(result[0]!.error).toBe('ERR value is not an integer or out of range');
    expect(result[1]!.result).toBe('OK');
    expect(await backend.redis.get('tx-after')).toBe('ran');
  });
});

describe('scripts', () => {
  it('runs eval with keys and arguments', async () => {
    const result = await backend.redis.eval(
      'return {KEYS[1], ARGV[1], tonumber(ARGV[2]) + 1}',
      ['k'],
      ['a', 41],
    );
    expect(result).toEqual(['k', 'a', 42]);
  });

  it('evalsha falls back to eval on NOSCRIPT through the client', async () => {
    // A script Redis has never seen (SCRIPT FLUSH stays refused even with scripts allowed).
    const script = backend.redis.createScript<string>(`return 'from ' .. ARGV[1] -- ${Math.random()}`);
    // First run: EVALSHA gets NOSCRIPT, and the client retries with EVAL.
    expect(await script.exec([], ['script'])).toBe('from script');
    expect(await script.exec([], ['cache'])).toBe('from cache');
  });

  it('keeps the NOSCRIPT message verbatim', async () => {
    const error = await backend.redis.evalsha('0'.repeat(40), [], []).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstashError);
    expect((error as Error).message).toContain('NOSCRIPT No matching script');
    const response = await raw('/', ['EVALSHA', '0'.repeat(40), '0']);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'NOSCRIPT No matching script. Please use EVAL.' });
  });
});

describe('errors', () => {
  it('surfaces a failed command as UpstashError carrying redis message', async () => {
    await backend.redis.set('str', 'abc');
    const error = await backend.redis.incr('str').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstashError);
    expect((error as Error).message).toContain('ERR value is not an integer or out of range');
  });

  it('answers a wrong-type error with 400 and the message verbatim', async () => {
    await backend.redis.set('wrongtype', 'abc');
    const response = await raw('/', ['LPUSH', 'wrongtype', 'x']);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: 'WRONGTYPE Operation against a key holding the wrong kind of value',
    });
  });
});

function raw(path: string, body: unknown, token = backend.token): Promise<Response> {
  return fetch(`${backend.gatewayUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
}
