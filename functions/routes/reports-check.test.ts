import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keySchema } from '../../shared/keys.ts';
import type { HistoryPoint, IpStatus } from '../../shared/schema.ts';
import { type ApiHarness, startApiHarness, TOKENS } from '../testing/api-harness.ts';

let api: ApiHarness;
const keys = keySchema();
const ips = ['198.18.0.1', '198.18.0.2', 'fd00::7'];

beforeAll(async () => {
  api = await startApiHarness();
});
afterAll(() => api?.close());
beforeEach(async () => {
  await api.backend.redis.flushdb();
  await api.call('PUT', '/v1/groups/dc1', { body: { ips } });
  await api.call('PUT', '/v1/groups/other', { body: { ips: ['198.18.9.9'] } });
  for (const agent of ['edge-1', 'edge-2']) {
    await api.backend.redis.sadd(keys.agentList(), agent);
    await online(agent);
    await api.call('PUT', `/v1/agents/${agent}/jobs/core`, {
      body: { spec: '*/10 * * * * *', groups: ['dc1'] },
    });
  }
  // An agent probing another group only: it must not count for dc1.
  await api.backend.redis.sadd(keys.agentList(), 'edge-3');
  await online('edge-3');
  await api.call('PUT', '/v1/agents/edge-3/jobs/core', { body: { spec: '* * * * *', groups: ['other'] } });
  for (const agent of ['edge-1', 'edge-2']) for (const ip of ips) await writeStatus(agent, status(ip));
});

async function online(agent: string) {
  const heartbeat = {
    version: '0',
    hostname: agent,
    pid: 1,
    started_at: new Date().toISOString(),
    jobs: ['core'],
  };
  await api.backend.redis.set(keys.agentOnline(agent), JSON.stringify(heartbeat), { ex: 60 });
}

function status(ip: string, extra: Partial<IpStatus> = {}): IpStatus {
  return {
    ip,
    send_count: 10,
    return_count: 10,
    err: null,
    rtt_avg_ms: 1.5,
    rtt_min_ms: 1,
    rtt_max_ms: 2,
    loss_window: 0,
    updated_at: new Date().toISOString(),
    ...extra,
  };
}

async function writeStatus(agent: string, value: IpStatus) {
  await api.backend.redis.set(keys.ipStatus(agent, value.ip), JSON.stringify(value), { ex: 600 });
}

describe('GET /v1/check', () => {
  it('answers 200 ok when every agent of the group sees every IP within the limits', async () => {
    const res = await api.call('GET', '/v1/check?group=dc1&max_loss=0.01&max_rtt_ms=100');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      ok: true,
      group: 'dc1',
      agents: ['edge-1', 'edge-2'],
      checked: 6,
      failing: [],
      limits: { max_loss: 0.01, max_rtt_ms: 100, max_age_s: 180 },
    });
  });

  it('answers 412 with loss, rtt, stale and no_data reasons', async () => {
    await writeStatus('edge-1', status('198.18.0.1', { loss_window: 0.2, return_count: 8 }));
    await writeStatus('edge-1', status('198.18.0.2', { rtt_avg_ms: 250 }));
    await writeStatus(
      'edge-2',
      status('fd00::7', { updated_at: new Date(Date.now() - 600_000).toISOString() }),
    );
    await api.backend.redis.del(keys.ipStatus('edge-2', '198.18.0.2'));
    const res = await api.call('GET', '/v1/check?group=dc1&max_rtt_ms=100');
    expect(res.status).toBe(412);
    expect(res.body.ok).toBe(false);
    expect(res.body.failing).toEqual([
      {
        agent: 'edge-1',
        ip: '198.18.0.1',
        reason: 'loss',
        loss: 0.2,
        rtt_ms: 1.5,
        age_s: expect.any(Number),
        likely_cause: 'unknown',
      },
      {
        agent: 'edge-1',
        ip: '198.18.0.2',
        reason: 'rtt',
        loss: 0,
        rtt_ms: 250,
        age_s: expect.any(Number),
        likely_cause: 'unknown',
      },
      {
        agent: 'edge-2',
        ip: '198.18.0.2',
        reason: 'no_data',
        loss: null,
        rtt_ms: null,
        age_s: null,
        likely_cause: 'unknown',
      },
      {
        agent: 'edge-2',
        ip: 'fd00::7',
        reason: 'stale',
        loss: 0,
        rtt_ms: 1.5,
        age_s: 600,
        likely_cause: 'unknown',
      },
    ]);
    // No summaries were written: every status was read.
    expect(res.body.answered_from).toBe('statuses');
    // Without an RTT limit and with a loose loss limit and age, only the missing status fails.
    const loose = await api.call('GET', '/v1/check?group=dc1&max_loss=0.5&max_age_s=3600');
    expect(loose.body.failing.map((f: { reason: string }) => f.reason)).toEqual(['no_data']);
  });

  it('computes loss from the counters when the status has no loss window', async () => {
    const { loss_window: _, ...noWindow } = status('198.18.0.1', { send_count: 4, return_count: 3 });
    await writeStatus('edge-1', noWindow);
    const res = await api.call('GET', '/v1/check?group=dc1&agent=edge-1&max_loss=0.1');
    expect(res.status).toBe(412);
    expect(res.body.failing).toEqual([
      expect.objectContaining({ ip: '198.18.0.1', reason: 'loss', loss: 0.25 }),
    ]);
    expect((await api.call('GET', '/v1/check?group=dc1&agent=edge-1&max_loss=0.3')).status).toBe(200);
  });

  it('reports an offline agent once, and agent= narrows the check', async () => {
    await api.backend.redis.del(keys.agentOnline('edge-2'));
    const res = await api.call('GET', '/v1/check?group=dc1');
    expect(res.status).toBe(412);
    expect(res.body.failing).toEqual([
      {
        agent: 'edge-2',
        ip: null,
        reason: 'offline',
        loss: null,
        rtt_ms: null,
        age_s: null,
        likely_cause: 'agent',
      },
    ]);
    expect(res.body.diagnosis).toEqual(['edge-2 is offline: no figures from it']);
    const narrowed = await api.call('GET', '/v1/check?group=dc1&agent=edge-1');
    expect(narrowed.status).toBe(200);
    expect(narrowed.body.agents).toEqual(['edge-1']);
  });

  it('counts an agent given a job that never started as offline', async () => {
    await api.call('PUT', '/v1/agents/edge-9/jobs/core', { body: { spec: '* * * * *', groups: ['dc1'] } });
    const res = await api.call('GET', '/v1/check?group=dc1');
    expect(res.status).toBe(412);
    expect(res.body.failing).toEqual([
      expect.objectContaining({ agent: 'edge-9', ip: null, reason: 'offline' }),
    ]);
  });

  it('fails with no_data when no agent probes the group (a pass would mean nobody looked)', async () => {
    const res = await api.call('GET', '/v1/check?group=dc1&agent=edge-3');
    expect(res.status).toBe(412);
    expect(res.body.failing).toEqual([expect.objectContaining({ agent: 'edge-3', reason: 'no_data' })]);
  });

  it('answers 404 for an unknown group and 400 for bad limits or unknown parameters', async () => {
    expect((await api.call('GET', '/v1/check?group=nope')).status).toBe(404);
    for (const query of [
      'group=dc1&max_loss=2',
      'group=dc1&max_loss=abc',
      'max_loss=0.1',
      'group=dc1&maxloss=1',
    ]) {
      const res = await api.call('GET', `/v1/check?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.type).toBe('invalid_request');
    }
  });

  it('reads with the read-only token', async () => {
    expect((await api.call('GET', '/v1/check?group=dc1', { token: TOKENS.read })).status).toBe(200);
  });
});

describe('reports', () => {
  it("shows every agent's view of every IP of a group", async () => {
    await writeStatus('edge-2', status('198.18.0.2', { loss_window: 0.5, err: 'timeout' }));
    await api.backend.redis.del(keys.ipStatus('edge-1', 'fd00::7'));
    const res = await api.call('GET', '/v1/groups/dc1/report');
    expect(res.status).toBe(200);
    expect(res.body.agents).toEqual([
      { name: 'edge-1', online: true, jobs: ['core'] },
      { name: 'edge-2', online: true, jobs: ['core'] },
    ]);
    const row = res.body.ips.find((r: { ip: string }) => r.ip === '198.18.0.2');
    expect(row.agents['edge-2']).toMatchObject({ loss: 0.5, err: 'timeout', rtt_ms: 1.5 });
    expect(res.body.ips.find((r: { ip: string }) => r.ip === 'fd00::7').agents['edge-1']).toBeNull();
    expect((await api.call('GET', '/v1/groups/none/report')).status).toBe(404);
  });

  it("pages through an agent's statuses with SCAN", async () => {
    for (let i = 0; i < 30; i++) await writeStatus('edge-1', status(`198.18.1.${i}`));
    const seen = new Set<string>();
    let cursor = '0';
    let pages = 0;
    do {
      const res = await api.call('GET', `/v1/agents/edge-1/ips?count=10&cursor=${cursor}`);
      expect(res.status).toBe(200);
      for (const s of res.body.statuses) seen.add(s.ip);
      cursor = res.body.cursor;
      pages++;
    } while (cursor !== '0' && pages < 100);
    expect(seen.size).toBe(33);
    expect((await api.call('GET', '/v1/agents/edge-1/ips?count=0')).status).toBe(400);
    // A cursor past 64 bits is the caller's mistake (400), not Redis failing (503).
    expect((await api.call('GET', '/v1/agents/edge-1/ips?cursor=18446744073709551616')).status).toBe(400);
    expect((await api.call('GET', '/v1/agents/edge-1/ips?cursor=18446744073709551615')).status).toBe(200);
    expect((await api.call('GET', '/v1/agents/edge-1/ips?cursor=1.5')).status).toBe(400);
  });

  it('lists an err list too large for one Redis request (a whole site losing packets)', async () => {
    const ips = Array.from({ length: 50_000 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
    for (let i = 0; i < ips.length; i += 10_000) {
      await api.backend.redis.sadd(keys.agentErrList('edge-1'), ips[i]!, ...ips.slice(i + 1, i + 10_000));
    }
    await writeStatus('edge-1', status('198.18.100.7'));
    const res = await api.call('GET', '/v1/agents/edge-1/errors');
    expect(res.status).toBe(200);
    expect(res.body.errors).toHaveLength(50_000);
    expect(res.body.errors.find((e: { ip: string }) => e.ip === '198.18.100.7').status).toMatchObject({
      ip: '198.18.100.7',
    });
  });

  it("lists the agent's err list with each IP's status", async () => {
    await api.backend.redis.sadd(keys.agentErrList('edge-1'), '198.18.0.1', '198.18.5.5');
    const res = await api.call('GET', '/v1/agents/edge-1/errors');
    expect(res.body.errors).toEqual([
      { ip: '198.18.0.1', status: expect.objectContaining({ ip: '198.18.0.1' }) },
      { ip: '198.18.5.5', status: null },
    ]);
  });

  it('answers the history of one IP at minute or hour resolution', async () => {
    const now = Math.floor(Date.now() / 1000);
    const minute = now - (now % 60) - 120;
    const point = (t: number): HistoryPoint => ({
      t,
      sent: 6,
      received: 6,
      min: 1,
      p10: 1,
      p25: 1,
      median: 1.5,
      p75: 2,
      p90: 2,
      max: 3,
    });
    await api.backend.redis.zadd(keys.ipMinutes('edge-1', 'fd00::7'), {
      score: minute,
      member: JSON.stringify(point(minute)),
    });
    await api.backend.redis.zadd(keys.ipMinutes('edge-1', 'fd00::7'), {
      score: minute - 7200,
      member: JSON.stringify(point(minute - 7200)),
    });
    const hour = await api.call('GET', '/v1/agents/edge-1/ips/FD00::0007/history');
    expect(hour.status).toBe(200);
    expect(hour.body).toMatchObject({ ip: 'fd00::7', range: '1h', resolution: 'minute', bucket_s: 60 });
    expect(hour.body.points).toEqual([point(minute)]);
    const day = await api.call('GET', '/v1/agents/edge-1/ips/fd00::7/history?range=24h');
    expect(day.body.points).toHaveLength(2);
    const month = await api.call('GET', '/v1/agents/edge-1/ips/fd00::7/history?range=30d');
    expect(month.body).toMatchObject({ resolution: 'hour', points: [] });
    expect((await api.call('GET', '/v1/agents/edge-1/ips/fd00::7/history?range=1y')).status).toBe(400);
    expect((await api.call('GET', '/v1/agents/edge-1/ips/not-an-ip/history')).status).toBe(400);
  });
});
