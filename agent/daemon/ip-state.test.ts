import { describe, expect, it } from 'vitest';
import type { TargetResult } from '../icmp/types.ts';
import { errorOf, IpStateTable } from './ip-state.ts';

const result = (
  ip: string,
  sent: number,
  rtts: number[],
  extra: Partial<TargetResult> = {},
): TargetResult => ({
  ip,
  sent,
  received: rtts.length,
  rttsMs: rtts,
  late: 0,
  duplicates: 0,
  ttl: rtts.length > 0 ? 64 : null,
  unreachable: null,
  ttlExceeded: null,
  ...extra,
});

describe('IpStateTable', () => {
  it('keeps cumulative counts and RTT statistics like ping does', () => {
    const table = new IpStateTable(60);
    table.record(result('198.18.0.1', 2, [1, 3]), 1_000);
    const s = table.record(result('198.18.0.1', 2, [2]), 2_000);
    expect(s).toMatchObject({
      send_count: 4,
      return_count: 3,
      err: 'timeout (1 of 2 lost)',
      rtt_last_ms: 2,
      rtt_min_ms: 1,
      rtt_max_ms: 3,
      rtt_avg_ms: 2,
      ttl: 64,
      loss_window: 0.25,
    });
    expect(s.rtt_mdev_ms).toBeCloseTo(Math.sqrt(2 / 3), 3);
  });

  it('continues from a status read back from Redis', () => {
    const first = new IpStateTable(60);
    first.record(result('198.18.0.2', 3, [1, 2, 6]), 1_000);
    const before = first.record(result('198.18.0.2', 1, [3]), 2_000);
    const second = new IpStateTable(60);
    second.seed(before);
    const after = second.record(result('198.18.0.2', 1, [4]), 3_000);
    const reference = first.record(result('198.18.0.2', 1, [4]), 3_000);
    expect(after.send_count).toBe(5);
    expect(after.return_count).toBe(5);
    expect(after.rtt_avg_ms).toBeCloseTo(reference.rtt_avg_ms!, 2);
    expect(after.rtt_mdev_ms).toBeCloseTo(reference.rtt_mdev_ms!, 2);
    expect(after.rtt_min_ms).toBe(1);
    expect(after.rtt_max_ms).toBe(6);
  });

  it('forgets samples older than the window for loss_window', () => {
    const table = new IpStateTable(10);
    table.record(result('198.18.0.3', 1, []), 0);
    expect(table.record(result('198.18.0.3', 1, [1]), 11_000).loss_window).toBe(0);
  });

  it('starts an IP forgotten and probed again afresh, and the IP given its place too', () => {
    const table = new IpStateTable(60);
    for (let i = 0; i < 100; i++) table.record(result(`198.18.1.${i}`, 2, [i + 1]), 1_000);
    table.forget('198.18.1.5');
    expect(table.size).toBe(99);
    expect(table.lastStatus('198.18.1.5')).toBeUndefined();
    const newcomer = table.record(result('198.18.2.1', 1, [7]), 2_000);
    expect(newcomer).toMatchObject({
      send_count: 1,
      return_count: 1,
      rtt_min_ms: 7,
      loss_window: 0,
      err: null,
    });
    const back = table.record(result('198.18.1.5', 1, []), 3_000);
    expect(back).toMatchObject({ send_count: 1, return_count: 0, rtt_min_ms: null, loss_window: 1 });
    // The others kept their own figures through the growth past the first columns.
    expect(table.lastStatus('198.18.1.99')).toMatchObject({
      send_count: 2,
      return_count: 1,
      rtt_max_ms: 100,
    });
    expect(table.lastStatus('198.18.1.99')?.updated_at).toBe(new Date(1_000).toISOString());
  });

  it('says what went wrong', () => {
    expect(errorOf(result('198.18.0.4', 1, [1]))).toBeNull();
    expect(errorOf(result('198.18.0.4', 1, []))).toBe('timeout');
    expect(
      errorOf(result('198.18.0.4', 1, [], { unreachable: { count: 1, code: 1, from: '198.18.0.254' } })),
    ).toBe('unreachable (code 1) from 198.18.0.254');
  });
});
