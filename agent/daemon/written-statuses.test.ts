import { describe, expect, it } from 'vitest';
import type { IpStatus } from '../../shared/schema.ts';
import { verdictChanged, WrittenStatuses } from './written-statuses.ts';

const status = (ip: string, over: Partial<IpStatus> = {}): IpStatus => ({
  ip,
  send_count: 1,
  return_count: 1,
  err: null,
  rtt_avg_ms: 10,
  loss_window: 0,
  updated_at: '2026-01-01T00:00:00.000Z',
  ...over,
});

describe('which statuses a run writes', () => {
  it('writes a status whose check figures changed, not one whose counts only moved', () => {
    const before = status('198.18.0.1');
    expect(verdictChanged(before, status('198.18.0.1', { send_count: 9, return_count: 9 }))).toBe(false);
    expect(verdictChanged(before, status('198.18.0.1', { rtt_avg_ms: 10.9 }))).toBe(false);
    expect(verdictChanged(before, status('198.18.0.1', { rtt_avg_ms: 11.2 }))).toBe(true);
    expect(verdictChanged(status('a', { rtt_avg_ms: 100 }), status('a', { rtt_avg_ms: 108 }))).toBe(false);
    expect(verdictChanged(status('a', { rtt_avg_ms: 100 }), status('a', { rtt_avg_ms: 111 }))).toBe(true);
    expect(verdictChanged(before, status('198.18.0.1', { loss_window: 0.1 }))).toBe(true);
    expect(verdictChanged(before, status('198.18.0.1', { err: 'timeout' }))).toBe(true);
    expect(verdictChanged(before, status('198.18.0.1', { rtt_avg_ms: null }))).toBe(true);
    // Small RTTs: a loopback's jitter is no change a check could see.
    expect(verdictChanged(status('a', { rtt_avg_ms: 0.05 }), status('a', { rtt_avg_ms: 0.09 }))).toBe(false);
    expect(verdictChanged(status('a', { rtt_avg_ms: 0.05 }), status('a', { rtt_avg_ms: 1.2 }))).toBe(true);
  });

  it('rewrites an unchanged status once per refresh period, each IP at its own phase, spread over the runs', () => {
    const refreshMs = 300_000;
    const w = new WrittenStatuses(refreshMs);
    const ips = Array.from({ length: 1_000 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
    for (const ip of ips) {
      expect(w.isDue(status(ip), 0)).toBe(true);
      w.record(status(ip), 0, true);
    }
    const perRun: number[] = [];
    const writes = new Map<string, number>();
    for (let t = 10_000; t <= 600_000; t += 10_000) {
      let due = 0;
      for (const ip of ips) {
        if (!w.isDue(status(ip), t)) continue;
        due++;
        writes.set(ip, (writes.get(ip) ?? 0) + 1);
        w.record(status(ip), t, true);
      }
      perRun.push(due);
    }
    // Every IP twice in 600 s; about 1,000 / 30 per run, never a burst.
    expect([...writes.values()].every((n) => n === 2)).toBe(true);
    expect(Math.max(...perRun)).toBeLessThan(80);
  });

  it('keeps what Redis holds, and hands the newer unwritten counts to the stop', () => {
    const w = new WrittenStatuses(300_000);
    const newest = new Map<string, IpStatus>();
    const record = (s: IpStatus, nowMs: number, written: boolean) => {
      newest.set(s.ip, s);
      w.record(s, nowMs, written);
    };
    record(status('a', { send_count: 1 }), 0, true);
    record(status('a', { send_count: 2 }), 10_000, false);
    record(status('b', { send_count: 5 }), 10_000, true);
    expect(w.get('a')?.send_count).toBe(1);
    expect(w.takeUnwritten(20_000, (ip) => newest.get(ip)).map((s) => s.send_count)).toEqual([2]);
    expect(w.get('a')?.send_count).toBe(2);
    expect(w.takeUnwritten(30_000, (ip) => newest.get(ip))).toEqual([]);
  });

  it('forgets an IP, and a new IP reuses its place', () => {
    const w = new WrittenStatuses(300_000);
    w.record(status('a'), 0, true);
    w.record(status('b'), 0, false);
    w.forget('a');
    w.forget('b');
    expect(w.get('a')).toBeUndefined();
    expect(w.isDue(status('a'), 1)).toBe(true);
    expect(w.takeUnwritten(1, () => status('b'))).toEqual([]);
    w.record(status('c', { send_count: 7 }), 2, true);
    expect([...w.ips()]).toEqual(['c']);
    expect(w.get('c')?.send_count).toBe(7);
    expect(w.isDue(status('c', { send_count: 8 }), 3)).toBe(false);
  });
});
