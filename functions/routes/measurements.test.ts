import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keySchema } from '../../shared/keys.ts';
import type { TargetFigures } from '../../shared/measurement-schema.ts';
import { createStore } from '../../shared/store.ts';
import { type ApiHarness, startApiHarness, TOKENS } from '../testing/api-harness.ts';

// /v1/measurements through the real app against redis-server behind the gateway. The agents'
// side is played by writing what an agent writes (its heartbeat, state and figures) through the
// store; the real agent is in test/e2e/measurements-wrangler.test.ts.

const keys = keySchema();
let api: ApiHarness;

beforeAll(async () => {
  api = await startApiHarness();
});
afterAll(() => api?.close());
beforeEach(async () => {
  await api.backend.redis.flushdb();
});

async function online(name: string, startedAt = `${name}-process-1`) {
  await api.backend.redis.sadd(keys.agentList(), name);
  const beat = { version: '0', hostname: 'h', pid: 1, started_at: startedAt, jobs: [] };
  await api.backend.redis.set(keys.agentOnline(name), JSON.stringify(beat), { ex: 60 });
}

const post = (body: unknown, token: string = TOKENS.write) =>
  api.call('POST', '/v1/measurements', { body, token });

const figures = (ip: string): TargetFigures => ({
  ip,
  sent: 3,
  received: 3,
  loss: 0,
  rtt_ms: { min: 1, avg: 1, max: 1, p50: 1, p95: 1, mdev: 0 },
  ttl: 64,
  late: 0,
  duplicates: 0,
  errors: { unreachable: null, ttl_exceeded: null },
});

describe('POST /v1/measurements', () => {
  it('chooses online agents, reports a named offline one at once, and pushes the request on the config channel', async () => {
    await online('edge-1');
    await online('edge-2');
    await api.backend.redis.sadd(keys.agentList(), 'edge-3');
    const heard: string[] = [];
    const sub = api.backend.redis.subscribe<string>(keys.configChannel());
    sub.on('message', ({ message }) =>
      heard.push(typeof message === 'string' ? message : JSON.stringify(message)),
    );
    await new Promise<void>((resolve) => sub.on('subscribe', () => resolve()));
    try {
      const res = await post({
        targets: ['198.18.0.1', '198.18.1.0/30', '198.18.0.1'],
        agents: ['edge-1', 'edge-3'],
        count: 3,
        interval_ms: 100,
      });
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ agents: ['edge-1'], offline: ['edge-3'], targets: 3 });
      expect(res.headers.get('location')).toBe(`/v1/measurements/${res.body.id}`);
      const stored = await createStore(api.backend.redis).measurements.request(res.body.id);
      expect(stored).toMatchObject({
        targets: ['198.18.0.1', '198.18.1.1', '198.18.1.2'],
        agents: [{ name: 'edge-1', started_at: 'edge-1-process-1' }],
        count: 3,
        interval_ms: 100,
        timeout_ms: 1000,
      });
      // Listed for catching up, in the same transaction, by its deadline.
      expect(await api.backend.redis.zrange(keys.measurementPending(), 0, -1, { withScores: true })).toEqual([
        res.body.id,
        String(stored!.deadline_at),
      ]);
      const deadline = Date.now() + 2_000;
      while (heard.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(heard.map((m) => JSON.parse(m))).toEqual([
        { type: 'measurement', id: res.body.id, agents: ['edge-1'] },
      ]);

      const read = await api.call('GET', `/v1/measurements/${res.body.id}`, { token: TOKENS.read });
      expect(read.status).toBe(200);
      expect(read.body.done).toBe(false);
      expect(read.body.agents).toEqual([
        expect.objectContaining({ name: 'edge-1', state: 'queued', results: null }),
        expect.objectContaining({ name: 'edge-3', state: 'offline', results: null }),
      ]);
    } finally {
      await sub.unsubscribe();
    }
  });

  it('picks n online agents for {"any": n} and every online agent for "all", never an offline one', async () => {
    for (const name of ['a1', 'a2', 'a3']) await online(name);
    await api.backend.redis.sadd(keys.agentList(), 'gone');
    const any = await post({ targets: ['198.18.0.1'], agents: { any: 2 } });
    expect(any.status).toBe(202);
    expect(any.body.agents).toHaveLength(2);
    expect(any.body.agents.every((a: string) => ['a1', 'a2', 'a3'].includes(a))).toBe(true);
    expect(any.body.offline).toEqual([]);
    const all = await post({ targets: ['198.18.0.1'], agents: 'all' });
    expect(all.body.agents).toEqual(['a1', 'a2', 'a3']);
    const many = await post({ targets: ['198.18.0.1'], agents: { any: 9 } });
    expect(many.body.agents).toEqual(['a1', 'a2', 'a3']);
  });

  it('measures a group', async () => {
    await online('edge-1');
    await api.call('PUT', '/v1/groups/dc1', { body: { ips: ['198.18.0.2', '198.18.0.3'] } });
    const res = await post({ group: 'dc1', agents: 'all' });
    expect(res.status).toBe(202);
    expect(res.body.targets).toBe(2);
    expect((await post({ group: 'nope' })).status).toBe(404);
  });

  it('answers every limit with its status', async () => {
    await online('edge-1');
    const cases: [unknown, number, string][] = [
      [{ targets: ['198.18.0.1'], count: 101 }, 422, 'validation'],
      [{ targets: ['198.18.0.1'], interval_ms: -1 }, 422, 'validation'],
      [{ targets: ['198.18.0.1'], count: 100, interval_ms: 1_000 }, 422, 'too_long'],
      [{ targets: ['198.18.0.1'], group: 'dc1' }, 422, 'validation'],
      [{}, 422, 'validation'],
      [{ targets: Array.from({ length: 1_025 }, (_, i) => `10.${i >> 8}.${i & 255}.1`) }, 422, 'validation'],
      [{ targets: ['10.0.0.0/22', '10.0.4.0/29'] }, 422, 'too_many_targets'],
      [{ targets: ['224.0.0.1'] }, 422, 'invalid_ip'],
      [{ targets: ['ff02::1'] }, 422, 'invalid_ip'],
      [{ targets: ['255.255.255.255'] }, 422, 'invalid_ip'],
      [{ targets: ['0.0.0.0'] }, 422, 'invalid_ip'],
      [{ targets: ['127.0.0.1'] }, 422, 'invalid_ip'],
      [{ targets: ['::1'] }, 422, 'invalid_ip'],
      [{ targets: ['127.0.0.0/30'] }, 422, 'invalid_ip'],
      [{ targets: ['198.18.0.1'], agents: ['nobody'] }, 404, 'not_found'],
    ];
    for (const [body, status, type] of cases) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      expect(res.body.error.type).toBe(type);
    }
    expect((await post({ targets: ['10.0.0.0/22', '10.0.4.0/30'] })).status).toBe(202);
    expect((await post({ targets: ['198.18.0.1'] }, TOKENS.read)).status).toBe(403);
    await api.backend.redis.del(keys.agentOnline('edge-1'));
    const none = await post({ targets: ['198.18.0.1'], agents: { any: 1 } });
    expect(none.status).toBe(409);
    expect(none.body.error.type).toBe('no_agent_online');
  });

  it('confines targets to MEASURE_ALLOW when it is set', async () => {
    await online('edge-1');
    const env = { ...api.env, MEASURE_ALLOW: '198.18.0.0/24, 2001:db8::/64' };
    const send = async (targets: string[]) => {
      const res = await api.raw(
        '/v1/measurements',
        {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKENS.write}`, 'content-type': 'application/json' },
          body: JSON.stringify({ targets }),
        },
        env,
      );
      return {
        status: res.status,
        body: (await res.json()) as { error?: { type: string; message: string } },
      };
    };
    expect((await send(['198.18.0.9', '2001:db8::5'])).status).toBe(202);
    const outside = await send(['198.18.0.9', '198.18.1.9']);
    expect(outside.status).toBe(422);
    expect(outside.body.error).toMatchObject({ type: 'target_not_allowed' });
    expect(outside.body.error?.message).toContain('198.18.1.9');
    expect((await send(['2001:db9::1'])).status).toBe(422);
    const broken = await api.raw(
      '/v1/measurements',
      {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKENS.write}`, 'content-type': 'application/json' },
        body: JSON.stringify({ targets: ['198.18.0.9'] }),
      },
      { ...api.env, MEASURE_ALLOW: '10.0.0.0/33' },
    );
    expect(broken.status).toBe(500);
  });

  it('takes loopback targets only with MEASURE_ALLOW_LOOPBACK=true, as the local stack sets', async () => {
    await online('edge-1');
    const send = (env: typeof api.env) =>
      api.raw(
        '/v1/measurements',
        {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKENS.write}`, 'content-type': 'application/json' },
          body: JSON.stringify({ targets: ['127.0.0.1', '::1'] }),
        },
        env,
      );
    expect((await send({ ...api.env, MEASURE_ALLOW_LOOPBACK: 'false' })).status).toBe(422);
    expect((await send({ ...api.env, MEASURE_ALLOW_LOOPBACK: 'true' })).status).toBe(202);
    expect((await send({ ...api.env, MEASURE_ALLOW_LOOPBACK: 'yes' })).status).toBe(500);
  });

  it('limits each token to its rate per minute with 429 and Retry-After, separately per token', async () => {
    await online('edge-1');
    const env = { ...api.env, MEASURE_RATE_PER_MINUTE: '3' };
    const send = (token: string) =>
      api.raw(
        '/v1/measurements',
        {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ targets: ['198.18.0.1'] }),
        },
        env,
      );
    for (let i = 0; i < 3; i++) expect((await send(TOKENS.write)).status).toBe(202);
    const limited = await send(TOKENS.write);
    expect(limited.status).toBe(429);
    const retry = Number(limited.headers.get('retry-after'));
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
    expect(((await limited.json()) as { error: { type: string } }).error.type).toBe('rate_limited');
    expect((await send(TOKENS.writeNext)).status).toBe(202);
  });
});

describe('GET /v1/measurements/{id}', () => {
  async function started(agents: string[]) {
    for (const a of agents) await online(a);
    const res = await post({ targets: ['198.18.0.1', '198.18.0.2'], agents, count: 1, timeout_ms: 100 });
    expect(res.status).toBe(202);
    const store = createStore(api.backend.redis).measurements;
    return { id: res.body.id as string, store, request: (await store.request(res.body.id))! };
  }

  it('shows running, then finished with the figures per target; wait_s answers as soon as all are done', async () => {
    const { id, store, request } = await started(['edge-1', 'edge-2']);
    await store.markRunning(request, 'edge-1', Date.now());
    const running = await api.call('GET', `/v1/measurements/${id}`);
    expect(running.body.agents.map((a: { state: string }) => a.state)).toEqual(['running', 'queued']);

    const t0 = Date.now();
    setTimeout(() => {
      void store.markFinished(
        request,
        'edge-1',
        t0,
        [figures('198.18.0.1'), figures('198.18.0.2')],
        Date.now(),
      );
      void store.markFailed(request, 'edge-2', t0, 'cannot send', Date.now());
    }, 600);
    const waited = await api.call('GET', `/v1/measurements/${id}?wait_s=10`);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(550);
    expect(took).toBeLessThan(3_000);
    expect(waited.body.done).toBe(true);
    expect(waited.body.agents[0]).toMatchObject({
      name: 'edge-1',
      state: 'finished',
      results: [figures('198.18.0.1'), figures('198.18.0.2')],
    });
    expect(waited.body.agents[0].finished_at).toEqual(expect.any(String));
    expect(waited.body.agents[1]).toMatchObject({
      name: 'edge-2',
      state: 'failed',
      error: 'cannot send',
      results: null,
    });
  });

  it('answers at wait_s when agents are not done, and refuses wait_s over 25', async () => {
    const { id } = await started(['edge-1']);
    const t0 = Date.now();
    const res = await api.call('GET', `/v1/measurements/${id}?wait_s=1`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(res.body).toMatchObject({ done: false, agents: [expect.objectContaining({ state: 'queued' })] });
    expect((await api.call('GET', `/v1/measurements/${id}?wait_s=26`)).status).toBe(400);
  });

  it('fails an agent that restarted or went offline at once, and one that never answered at the deadline', async () => {
    const { id, store, request } = await started(['edge-1', 'edge-2', 'edge-3']);
    await store.markRunning(request, 'edge-1', Date.now());
    await online('edge-1', 'edge-1-process-2');
    await api.backend.redis.del(keys.agentOnline('edge-2'));
    const res = await api.call('GET', `/v1/measurements/${id}`);
    expect(res.body.agents.slice(0, 2)).toEqual([
      expect.objectContaining({
        name: 'edge-1',
        state: 'failed',
        error: 'the agent restarted before it finished',
      }),
      expect.objectContaining({ name: 'edge-2', state: 'failed', error: 'the agent went offline' }),
    ]);
    expect(res.body.agents[2].state).toBe('queued');
    // The deadline passed (moved into the past here rather than waited for).
    await api.backend.redis.set(
      keys.measurement(id),
      JSON.stringify({ ...request, deadline_at: Date.now() - 1 }),
    );
    const late = await api.call('GET', `/v1/measurements/${id}`);
    expect(late.body.done).toBe(true);
    expect(late.body.agents[2]).toMatchObject({
      state: 'failed',
      error: 'no answer from the agent before the deadline',
    });
  });

  it('answers 404 for an unknown or expired id and 400 for a malformed one', async () => {
    expect((await api.call('GET', '/v1/measurements/0123456789abcdefghij')).status).toBe(404);
    expect((await api.call('GET', '/v1/measurements/bad_id')).status).toBe(400);
  });

  it('keeps everything of a measurement for an hour, no longer', async () => {
    const { id, store, request } = await started(['edge-1']);
    await store.markFinished(request, 'edge-1', Date.now(), [figures('198.18.0.1')], Date.now());
    for (const key of [
      keys.measurement(id),
      keys.measurementState('edge-1', id),
      keys.measurementResult('edge-1', id),
    ]) {
      const ttl = await api.backend.redis.ttl(key);
      expect(ttl, key).toBeGreaterThan(3_500);
      expect(ttl, key).toBeLessThanOrEqual(3_600);
    }
  });
});
