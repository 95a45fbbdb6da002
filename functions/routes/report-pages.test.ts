import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keySchema } from '../../shared/keys.ts';
import type { IpStatus } from '../../shared/schema.ts';
import { createStore } from '../../shared/store.ts';
import { buildSummary } from '../../shared/summary/build-summary.ts';
import { type ApiHarness, startApiHarness } from '../testing/api-harness.ts';

// GET /v1/groups/{group}/report a page at a time, troubled IPs first, against real Redis.

let api: ApiHarness;
const keys = keySchema();
const agents = ['edge-1', 'edge-2', 'edge-3'];
const range = (n: number) => Array.from({ length: n }, (_, i) => `198.18.${i >> 8}.${i & 255}`);

beforeAll(async () => {
  api = await startApiHarness();
});
afterAll(() => api?.close());

const status = (ip: string, loss = 0): IpStatus => ({
  ip,
  send_count: 100,
  return_count: 100 - loss * 100,
  err: loss > 0 ? 'timeout' : null,
  rtt_avg_ms: 1.25,
  rtt_min_ms: 1,
  rtt_max_ms: 2,
  rtt_last_ms: 1.5,
  rtt_mdev_ms: 0.2,
  loss_window: loss,
  ttl: 64,
  window_s: 300,
  updated_at: new Date().toISOString(),
});

async function setUp(ips: string[], withStatuses: string[], lossy: string[]) {
  // Through the store: a 65,536-IP body is over the API's 1 MB request limit.
  await createStore(api.backend.redis).groups.replace('g', ips);
  for (const agent of agents) {
    await api.backend.redis.sadd(keys.agentList(), agent);
    await api.call('PUT', `/v1/agents/${agent}/jobs/core`, {
      body: { spec: '*/10 * * * * *', groups: ['g'] },
    });
    const held = new Map(withStatuses.map((ip) => [ip, status(ip, lossy.includes(ip) ? 0.5 : 0)]));
    for (let i = 0; i < withStatuses.length; i += 2_000) {
      const p = api.backend.redis.pipeline();
      for (const ip of withStatuses.slice(i, i + 2_000))
        p.set(keys.ipStatus(agent, ip), JSON.stringify(held.get(ip)));
      await p.exec();
    }
    const summary = buildSummary({ members: ips, statusOf: (ip) => held.get(ip), computedAtMs: Date.now() });
    await api.backend.redis.set(keys.groupSummary(agent, 'g'), JSON.stringify(summary));
  }
}

beforeEach(async () => {
  await api.backend.redis.flushdb();
});

describe('GET /v1/groups/{group}/report', () => {
  it('pages through every IP once, the troubled ones first', async () => {
    const ips = range(40);
    await setUp(ips, ips, ['198.18.0.30', '198.18.0.7']);
    const seen: string[] = [];
    let cursor: string | null = null;
    let first: {
      troubled: number;
      total: number;
      ips: { ip: string; agents: Record<string, unknown> }[];
    } | null = null;
    do {
      const res = await api.call('GET', `/v1/groups/g/report?limit=15${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      first ??= res.body;
      seen.push(...res.body.ips.map((r: { ip: string }) => r.ip));
      cursor = res.body.cursor;
    } while (cursor !== null && seen.length < 100);
    expect(first!.total).toBe(40);
    expect(first!.troubled).toBe(2);
    expect(seen.slice(0, 2)).toEqual(['198.18.0.30', '198.18.0.7']);
    expect([...seen].sort()).toEqual([...ips].sort());
    expect(first!.ips[0]!.agents['edge-2']).toMatchObject({ loss: 0.5, err: 'timeout' });
    expect((await api.call('GET', '/v1/groups/g/report?limit=0')).status).toBe(400);
    expect((await api.call('GET', '/v1/groups/g/report?cursor=x')).status).toBe(400);
    // An offset, as the pages of an earlier version took: refused, not misread.
    expect((await api.call('GET', '/v1/groups/g/report?cursor=2000')).status).toBe(400);
  });

  it('pages a group of a few thousand IPs (a hash-table set) through every IP once', async () => {
    const ips = range(3_000);
    await setUp(ips, ips.slice(0, 2_500), ips.slice(1_000, 1_010));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await api.call('GET', `/v1/groups/g/report?limit=700${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      expect(res.body.ips.length).toBeLessThanOrEqual(700);
      if (pages === 0) {
        expect(res.body.troubled).toBe(500 + 10);
        expect(res.body.ips.slice(0, 510).map((r: { ip: string }) => r.ip)).toEqual(
          [...ips.slice(2_500), ...ips.slice(1_000, 1_010)].sort(),
        );
      }
      seen.push(...res.body.ips.map((r: { ip: string }) => r.ip));
      cursor = res.body.cursor;
      pages++;
    } while (cursor !== null && pages < 50);
    expect(cursor).toBeNull();
    expect(seen).toHaveLength(3_000);
    expect(new Set(seen)).toEqual(new Set(ips));
  }, 30_000);

  it('serves a 65,536-IP group by pages well under 1 MB', async () => {
    const ips = range(65_536);
    await setUp(ips, ips, ips.slice(60_000, 60_100));
    const res = await api.call('GET', '/v1/groups/g/report?limit=5000');
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(65_536);
    expect(res.body.troubled).toBe(100);
    const lossy = new Set(ips.slice(60_000, 60_100));
    expect(res.body.ips.slice(0, 100).every((r: { ip: string }) => lossy.has(r.ip))).toBe(true);
    // 3 agents: the page is lowered to 2,000 IPs (6,000 cells).
    expect(res.body.ips).toHaveLength(2_000);
    expect(res.body.cursor).toMatch(/^s[0-9]+\.[0-9]+\.[0-9a-f]{8}$/);
    const second = await api.call('GET', `/v1/groups/g/report?limit=5000&cursor=${res.body.cursor}`);
    expect(second.body.ips).toHaveLength(2_000);
    const both = new Set([...res.body.ips, ...second.body.ips].map((r: { ip: string }) => r.ip));
    expect(both.size).toBe(4_000);
    expect(JSON.stringify(res.body).length).toBeLessThan(1_000_000);
  }, 60_000);
});
