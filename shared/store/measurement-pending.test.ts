import { errors } from '@upstash/redis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestBackend, type TestBackend } from '../../test/support/backend.ts';
import { keySchema } from '../keys.ts';
import { MEASUREMENT_TTL_S, type MeasurementRequest, newMeasurementId } from '../measurement-schema.ts';
import { createStore } from '../store.ts';
import { credentialStore } from './credentials.ts';

// `measurement-pending` against redis-server behind the gateway: the API lists each measurement
// in the MULTI that announces it, and an agent whose stream was down reads back the ones still
// before their deadline, with nothing but its own scoped credential.

const keys = keySchema();
let backend: TestBackend;

beforeAll(async () => {
  backend = await startTestBackend();
});
afterAll(() => backend?.close());
beforeEach(async () => {
  await backend.redis.flushdb();
});

function request(createdAt: number, deadlineAt: number, agents = ['edge-1']): MeasurementRequest {
  return {
    id: newMeasurementId(),
    created_at: createdAt,
    deadline_at: deadlineAt,
    targets: ['198.18.0.1'],
    agents: agents.map((name) => ({ name, started_at: `${name}-process-1` })),
    offline: [],
    count: 1,
    interval_ms: 0,
    timeout_ms: 1_000,
  };
}

describe('pending measurements', () => {
  it('are listed by deadline when announced, trimmed of passed deadlines, and expire with the newest request', async () => {
    const store = createStore(backend.redis).measurements;
    const now = Date.now();
    const old = request(now - 120_000, now - 110_000);
    const later = request(now, now + 20_000, ['edge-1', 'edge-2']);
    const sooner = request(now, now + 5_000);
    await store.create(old);
    expect(await backend.redis.zrange(keys.measurementPending(), 0, -1)).toEqual([old.id]);
    await store.create(later);
    // The one past its deadline left at the next announcement.
    expect(await backend.redis.zrange(keys.measurementPending(), 0, -1)).toEqual([later.id]);
    await store.create(sooner);
    expect(await backend.redis.zrange(keys.measurementPending(), 0, -1, { withScores: true })).toEqual([
      sooner.id,
      String(sooner.deadline_at),
      later.id,
      String(later.deadline_at),
    ]);
    const ttl = await backend.redis.ttl(keys.measurementPending());
    expect(ttl).toBeGreaterThan(MEASUREMENT_TTL_S - 60);
    expect(ttl).toBeLessThanOrEqual(MEASUREMENT_TTL_S);

    expect(await store.pending(now)).toEqual([sooner.id, later.id]);
    expect(await store.pending(now + 10_000)).toEqual([later.id]);
    expect(await store.pending(now + 30_000)).toEqual([]);
    expect(await store.pending(now, 1)).toEqual([sooner.id]);
  });

  it('reads several requests in one MGET, null for one expired or malformed', async () => {
    const store = createStore(backend.redis).measurements;
    const now = Date.now();
    const a = request(now, now + 5_000);
    const b = request(now, now + 5_000, ['edge-2']);
    await store.create(a);
    await store.create(b);
    const gone = newMeasurementId();
    const bad = newMeasurementId();
    await backend.redis.set(keys.measurement(bad), '{"id": 1}');
    expect(await store.requests([a.id, gone, b.id, bad])).toEqual([a, null, b, null]);
    expect(await store.requests([])).toEqual([]);
  });

  it('ignores members that are not measurement ids', async () => {
    const store = createStore(backend.redis).measurements;
    const now = Date.now();
    await backend.redis.zadd(keys.measurementPending(), { score: now + 1_000, member: 'not_an_id' });
    const ok = request(now, now + 2_000);
    await store.create(ok);
    expect(await store.pending(now)).toEqual([ok.id]);
  });

  it("are read by an agent's scoped credential, which cannot change them", async () => {
    const now = Date.now();
    const mine = request(now, now + 5_000);
    await createStore(backend.redis).measurements.create(mine);
    const { token } = await credentialStore({ redis: backend.redis, keys }).issue('edge-1');
    const agent = backend.client({ token });
    const store = createStore(agent).measurements;
    expect(await store.pending(now)).toEqual([mine.id]);
    expect(await store.requests([mine.id])).toEqual([mine]);
    const attempts: [string, ...(string | number)[]][] = [
      ['ZADD', keys.measurementPending(), now + 9_000, newMeasurementId()],
      ['ZREM', keys.measurementPending(), mine.id],
      ['ZREMRANGEBYSCORE', keys.measurementPending(), '-inf', '+inf'],
      ['DEL', keys.measurementPending()],
      ['EXPIRE', keys.measurementPending(), 1],
    ];
    for (const command of attempts) {
      const refused = await agent.exec(command as [string, ...string[]]).then(
        () => null,
        (error: unknown) => error,
      );
      expect(refused, command[0]).toBeInstanceOf(errors.UpstashError);
      expect((refused as Error).message, command[0]).toMatch(/NOPERM/);
    }
    expect(await backend.redis.zrange(keys.measurementPending(), 0, -1)).toEqual([mine.id]);
  });
});
