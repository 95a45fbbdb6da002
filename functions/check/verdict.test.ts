import { describe, expect, it } from 'vitest';
import type { IpStatus } from '../../shared/schema.ts';
import type { GroupView } from '../../shared/store.ts';
import { DEFAULT_LIMITS, measure, verdict } from './verdict.ts';

const now = Date.parse('2026-01-01T00:10:00Z');
const status = (extra: Partial<IpStatus> = {}): IpStatus => ({
  ip: '198.18.0.1',
  send_count: 10,
  return_count: 10,
  err: null,
  rtt_avg_ms: 2,
  updated_at: '2026-01-01T00:09:30Z',
  ...extra,
});

function view(statuses: Record<string, IpStatus | undefined>, online = true): GroupView {
  return {
    group: 'g',
    ips: Object.keys(statuses),
    agents: [{ name: 'a', online, jobs: ['j'] }],
    statuses: new Map([
      ['a', new Map(Object.entries(statuses).flatMap(([ip, s]) => (s ? [[ip, { ...s, ip }]] : [])))],
    ]),
    roundTrips: 3,
  };
}

describe('measure', () => {
  it('prefers the loss window over the counters and rounds', () => {
    expect(measure(status({ loss_window: 0.125, return_count: 5 }), now)).toEqual({
      loss: 0.125,
      rtt_ms: 2,
      age_s: 30,
    });
    expect(measure(status({ return_count: 2, send_count: 3 }), now).loss).toBe(0.3333);
    expect(measure(status({ send_count: 0, return_count: 0 }), now).loss).toBeNull();
    expect(measure(status({ updated_at: 'yesterday' }), now).age_s).toBeNull();
  });
});

describe('verdict', () => {
  it('passes a clean group and counts the pairs checked', () => {
    expect(verdict(view({ '198.18.0.1': status(), '198.18.0.2': status() }), DEFAULT_LIMITS, now)).toEqual({
      ok: true,
      checked: 2,
      failing: [],
    });
  });

  it('orders reasons: stale before loss, loss before rtt', () => {
    const limits = { max_loss: 0.1, max_rtt_ms: 1, max_age_s: 10 };
    const v = verdict(
      view({
        a: status({ return_count: 0, rtt_avg_ms: null }),
        b: status({ updated_at: '2026-01-01T00:09:59Z', loss_window: 0.5 }),
        c: status({ updated_at: '2026-01-01T00:09:59Z' }),
        d: status({ updated_at: '2026-01-01T00:09:59Z', send_count: 0, return_count: 0, rtt_avg_ms: null }),
      }),
      limits,
      now,
    );
    expect(v.failing.map((f) => [f.ip, f.reason])).toEqual([
      ['a', 'stale'],
      ['b', 'loss'],
      ['c', 'rtt'],
      ['d', 'no_data'],
    ]);
  });

  it('fails a loss too small to show once rounded (no false green at max_loss=0)', () => {
    const v = verdict(
      view({
        a: status({ send_count: 100_000, return_count: 99_999 }),
        b: status({ loss_window: 0.00004 }),
      }),
      DEFAULT_LIMITS,
      now,
    );
    expect(v.failing.map((f) => [f.ip, f.reason])).toEqual([
      ['a', 'loss'],
      ['b', 'loss'],
    ]);
    expect(v.failing[0]!.loss).toBeCloseTo(0.00001, 8);
    expect(v.failing[1]!.loss).toBe(0.00004);
  });

  it('reports an offline agent once and an empty or unprobed group as no_data', () => {
    expect(verdict(view({ x: status() }, false), DEFAULT_LIMITS, now).failing).toEqual([
      { agent: 'a', ip: null, reason: 'offline', loss: null, rtt_ms: null, age_s: null },
    ]);
    expect(verdict(view({}), DEFAULT_LIMITS, now).failing[0]?.reason).toBe('no_data');
    const nobody: GroupView = { group: 'g', ips: ['x'], agents: [], statuses: new Map(), roundTrips: 2 };
    expect(verdict(nobody, DEFAULT_LIMITS, now, 'edge')).toMatchObject({
      ok: false,
      failing: [{ agent: 'edge', reason: 'no_data' }],
    });
  });
});
