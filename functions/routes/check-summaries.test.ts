import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { keySchema } from '../../shared/keys.ts';
import type { IpStatus } from '../../shared/schema.ts';
import { buildSummary } from '../../shared/summary/build-summary.ts';
import { type ApiHarness, startApiHarness } from '../testing/api-harness.ts';

// /v1/check answered from the agents' summaries, against real Redis through the gateway: the same
// verdict as reading every status, and the fallback whenever the summaries cannot answer.

let api: ApiHarness;
const keys = keySchema();
const ips = Array.from({ length: 40 }, (_, i) => `198.18.0.${i + 1}`);
const agents = ['edge-1', 'edge-2', 'edge-3'];

beforeAll(async () => {
  api = await startApiHarness();
});
afterAll(() => api?.close());

const status = (ip: string, at: number, extra: Partial<IpStatus> = {}): IpStatus => ({
  ip,
  send_count: 100,
  return_count: 100,
  err: null,
  rtt_avg_ms: 1 + (Number(ip.split('.')[3]) % 7),
  loss_window: 0,
  updated_at: new Date(at).toISOString(),
  ...extra,
});

/** What an agent writes in a run: its statuses, its summary of the group and its roll-up. */
async function agentRun(
  agent: string,
  members: string[],
  lossy: (ip: string) => number,
  rollupShare?: number,
) {
  const at = Date.now() - 2_000;
  const statuses = new Map(
    members.map((ip) => {
      const loss = lossy(ip);
      return [
        ip,
        status(ip, at, loss > 0 ? { loss_window: loss, err: 'timeout', return_count: 100 - loss * 100 } : {}),
      ];
    }),
  );
  const p = api.backend.redis.pipeline();
  for (const s of statuses.values()) p.set(keys.ipStatus(agent, s.ip), JSON.stringify(s));
  const summary = buildSummary({ members, statusOf: (ip) => statuses.get(ip), computedAtMs: at });
  p.set(keys.groupSummary(agent, 'dc1'), JSON.stringify(summary));
  const targets = 1000;
  const share =
    rollupShare ?? [...statuses.values()].filter((s) => (s.loss_window ?? 0) > 0).length / members.length;
  p.set(
    keys.agentSummary(agent),
    JSON.stringify({ computed_at: new Date(at).toISOString(), targets, lossy: Math.round(share * targets) }),
  );
  await p.exec();
}

beforeEach(async () => {
  await api.backend.redis.flushdb();
  await api.call('PUT', '/v1/groups/dc1', { body: { ips } });
  for (const agent of agents) {
    await api.backend.redis.sadd(keys.agentList(), agent);
    const heartbeat = {
      version: '0',
      hostname: agent,
      pid: 1,
      started_at: new Date().toISOString(),
      jobs: ['core'],
    };
    await api.backend.redis.set(keys.agentOnline(agent), JSON.stringify(heartbeat), { ex: 60 });
    await api.call('PUT', `/v1/agents/${agent}/jobs/core`, {
      body: { spec: '*/10 * * * * *', groups: ['dc1'] },
    });
    await agentRun(agent, ips, () => 0);
  }
});

/** The same check with the summaries and without them (every status read). */
async function bothWays(query: string) {
  // One clock for both answers: ages are shown to a tenth of a second, and the two requests would
  // otherwise straddle a tenth now and then.
  vi.useFakeTimers({ toFake: ['Date'] });
  try {
    vi.setSystemTime(Date.now());
    const fast = await api.call('GET', `/v1/check?${query}`);
    const p = api.backend.redis.pipeline();
    for (const agent of agents) p.del(keys.groupSummary(agent, 'dc1'));
    await p.exec();
    const full = await api.call('GET', `/v1/check?${query}`);
    return { fast, full };
  } finally {
    vi.useRealTimers();
  }
}

describe('GET /v1/check from summaries', () => {
  it('answers a healthy group from the summaries, as reading every status would', async () => {
    const { fast, full } = await bothWays('group=dc1&max_rtt_ms=50');
    expect(fast.status).toBe(200);
    expect(fast.body.answered_from).toBe('summaries');
    expect(full.body.answered_from).toBe('statuses');
    expect({ ...fast.body, answered_from: null }).toEqual({ ...full.body, answered_from: null });
    expect(fast.body.checked).toBe(120);
  });

  it('answers a failing group alike both ways, and tells a lossy target from a lossy agent', async () => {
    // 198.18.0.7 loses packets seen from every agent; edge-3 loses to most of what it probes.
    for (const agent of ['edge-1', 'edge-2'])
      await agentRun(agent, ips, (ip) => (ip === '198.18.0.7' ? 0.3 : 0));
    await agentRun('edge-3', ips, (ip) => (ip === '198.18.0.7' || ip.endsWith('1') ? 0.2 : 0.1), 0.96);
    const { fast, full } = await bothWays('group=dc1&max_loss=0.05');
    expect(fast.status).toBe(412);
    expect(fast.body.answered_from).toBe('summaries');
    expect({ ...fast.body, answered_from: null }).toEqual({ ...full.body, answered_from: null });
    const cause = (agent: string, ip: string) =>
      fast.body.failing.find((f: { agent: string; ip: string }) => f.agent === agent && f.ip === ip)
        ?.likely_cause;
    expect(cause('edge-1', '198.18.0.7')).toBe('target');
    expect(cause('edge-3', '198.18.0.2')).toBe('agent');
    expect(fast.body.diagnosis).toEqual([
      'edge-3 loses to 96% of its 1,000 targets: its own link',
      '198.18.0.7: 2 of 2 agents lose packets to it or see it slow: the target',
    ]);
  });

  it('reads every status once the membership changed since the agents ran', async () => {
    await api.call('PATCH', '/v1/groups/dc1', { body: { add: ['198.18.1.1'] } });
    const res = await api.call('GET', '/v1/check?group=dc1');
    expect(res.body.answered_from).toBe('statuses');
    expect(res.status).toBe(412);
    expect(res.body.failing.map((f: { ip: string; reason: string }) => [f.ip, f.reason])).toEqual(
      agents.map(() => ['198.18.1.1', 'no_data']),
    );
    // A member added by hand, past the API: the stored digest no longer counts the members.
    await agentRun('edge-1', [...ips, '198.18.1.1'], () => 0);
    await api.backend.redis.sadd(keys.group('dc1'), '198.18.2.2');
    expect((await api.call('GET', '/v1/check?group=dc1&agent=edge-1')).body.answered_from).toBe('statuses');
  });

  it('reads every status when the summaries are older than max_age_s allows', async () => {
    const res = await api.call('GET', '/v1/check?group=dc1&max_age_s=1');
    expect(res.body.answered_from).toBe('statuses');
    expect(res.body.failing_count).toBe(120);
    expect(res.body.failing[0]).toMatchObject({ reason: 'stale' });
  });
});
