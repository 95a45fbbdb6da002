import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gateway, startGateway } from '../../gateway/start-gateway.ts';
import type { ResultCommand } from '../../shared/store/results.ts';
import { startTestBackend, type TestBackend } from '../../test/support/backend.ts';
import { createLogger } from './logger.ts';
import { createRedisClient, RedisRequestError } from './redis-client.ts';
import { ResultWriter, splitBatches } from './result-writer.ts';
import { Spool } from './spool.ts';

// The writer against a real redis-server behind a gateway of our own, which the test stops and
// starts on the same port to play an outage.

let backend: TestBackend;
let gateway: Gateway;
let dir: string;
const token = 'writer-test-token';
const silent = createLogger('test', 'silent');

beforeAll(async () => {
  backend = await startTestBackend();
  gateway = await startGateway({ redisUrl: backend.redisUrl, token, port: 0 });
  dir = await mkdtemp(join(tmpdir(), 'writer-test-'));
});
afterAll(async () => {
  await gateway?.close();
  await backend?.close();
  await rm(dir, { recursive: true, force: true });
});

const set = (key: string, value: string): ResultCommand => ({ op: 'set', key, value, ex: 600 });

describe('splitBatches', () => {
  it('keeps requests under 1,000 commands and under 1 MB', () => {
    const many = Array.from({ length: 2_500 }, (_, i) => set(`k${i}`, 'v'));
    expect(splitBatches(many).map((b) => b.length)).toEqual([1000, 1000, 500]);
    const big = Array.from({ length: 10 }, (_, i) => set(`b${i}`, 'x'.repeat(200_000)));
    const batches = splitBatches(big);
    expect(batches.length).toBeGreaterThan(2);
    for (const b of batches) expect(JSON.stringify(b).length).toBeLessThan(1024 * 1024);
  });
});

describe('ResultWriter', () => {
  it('spools while the gateway is down and replays in order once it is back', async () => {
    const { redis, counters } = createRedisClient(gateway.url, token, 2_000);
    const spool = await Spool.open(join(dir, 'outage'), 10_000_000);
    const writer = new ResultWriter(redis, spool, silent);
    await writer.write([set('w:a', '1')]);
    expect(await backend.redis.get('w:a')).toBe('1');

    const port = gateway.port;
    await gateway.close();
    for (let i = 2; i <= 4; i++) await writer.write([set('w:a', String(i)), set(`w:n${i}`, 'x')]);
    expect(spool.stats().batches).toBeGreaterThan(0);
    expect(writer.stats.writeFailures).toBeGreaterThan(0);

    gateway = await startGateway({ redisUrl: backend.redisUrl, token, port });
    const deadline = Date.now() + 20_000;
    while (!spool.isEmpty && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(spool.isEmpty).toBe(true);
    // The newest whole value won: replay kept the order.
    expect(await backend.redis.get('w:a')).toBe('4');
    expect(await backend.redis.mget('w:n2', 'w:n3', 'w:n4')).toEqual(['x', 'x', 'x']);
    expect(counters.requests).toBeGreaterThan(1);
    await writer.close();
  });

  it('does not let a command Redis rejects (a hand-written key of the wrong type) hold up every later write', async () => {
    const { redis } = createRedisClient(gateway.url, token, 2_000);
    await backend.redis.set('w:not-a-set', 'hand-written');
    const spool = await Spool.open(join(dir, 'wrongtype'), 10_000_000);
    const writer = new ResultWriter(redis, spool, silent);
    await writer.write([
      set('w:before', '1'),
      { op: 'sadd', key: 'w:not-a-set', members: ['198.18.0.1'] },
      set('w:after', '1'),
    ]);
    expect(spool.isEmpty).toBe(true);
    expect(writer.stats.refused).toBe(1);
    expect(await backend.redis.mget('w:before', 'w:after')).toEqual(['1', '1']);
    await writer.write([set('w:next', '1')]);
    expect(await backend.redis.get('w:next')).toBe('1');
    await writer.close();
  });

  it('does not retry a refusal (401) and says why', async () => {
    const { redis } = createRedisClient(gateway.url, 'wrong-token', 2_000);
    await expect(redis.get('x')).rejects.toMatchObject({
      name: 'RedisRequestError',
      failure: 'refused',
      status: 401,
    });
    await expect(redis.get('x')).rejects.toBeInstanceOf(RedisRequestError);
    const spool = await Spool.open(join(dir, 'refused'), 10_000_000);
    const writer = new ResultWriter(redis, spool, silent);
    await writer.write([set('w:refused', '1')]);
    expect(spool.isEmpty).toBe(true);
    expect(writer.stats.refused).toBe(1);
    expect(await backend.redis.get('w:refused')).toBeNull();
  });
});
