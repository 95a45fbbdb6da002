import { describe, expect, it } from 'vitest';
import {
  blockStartOf,
  blockStartsIn,
  decodeBlock,
  decodeCode,
  encodeBlock,
  encodeCode,
  HOUR_BLOCKS,
  MINUTE_BLOCKS,
  slotOf,
} from './history-blocks.ts';
import type { HistoryPoint } from './schema.ts';

const point = (t: number, sent: number, received: number, rtt: number | null): HistoryPoint => ({
  t,
  sent,
  received,
  min: rtt === null ? null : rtt / 2,
  p10: rtt,
  p25: rtt,
  median: rtt,
  p75: rtt,
  p90: rtt,
  max: rtt === null ? null : rtt * 3,
});

describe('packed history blocks', () => {
  const ip = '198.18.0.7';
  const start = blockStartOf(MINUTE_BLOCKS, ip, 1_700_000_000);

  it('round-trips points within the code precision, skipping absent minutes and keeping "no reply"', () => {
    const points = [
      point(start, 6, 6, 0.042),
      point(start + 120, 6, 0, null),
      point(start + 1140, 6, 5, 812.5),
    ];
    const decoded = decodeBlock(MINUTE_BLOCKS, encodeBlock(MINUTE_BLOCKS, start, points));
    expect(decoded?.start).toBe(start);
    expect(decoded?.points.map((p) => [p.t, p.sent, p.received])).toEqual(
      points.map((p) => [p.t, p.sent, p.received]),
    );
    expect(decoded?.points[1]?.median).toBeNull();
    for (const [i, p] of points.entries()) {
      for (const q of ['min', 'median', 'max'] as const) {
        if (p[q] === null) continue;
        expect(Math.abs(decoded!.points[i]![q]! - p[q]!) / p[q]!).toBeLessThan(0.003);
      }
    }
  });

  it('holds counts of any size up to 24 bits, and a minute of 6 probes in a few bytes', () => {
    const wide = encodeBlock(HOUR_BLOCKS, 86_400, [point(86_400 + 3600, 360_000, 359_999, 1)]);
    expect(decodeBlock(HOUR_BLOCKS, wide)?.points[0]).toMatchObject({ sent: 360_000, received: 359_999 });
    const full = Array.from({ length: 20 }, (_, i) => point(start + i * 60, 6, 6, 0.05));
    // 20 minutes: 6 header bytes + 20 × (2 × 3 + 7 × 12 bits), as base64.
    expect(encodeBlock(MINUTE_BLOCKS, start, full).length).toBeLessThanOrEqual(Math.ceil((6 + 225) / 3) * 4);
  });

  it('codes 0.001 ms to 100 s, clamping outside', () => {
    expect(encodeCode(null)).toBe(0);
    expect(decodeCode(encodeCode(0))).toBe(0.001);
    expect(decodeCode(encodeCode(1e9))).toBeCloseTo(100_000, -2);
  });

  it('refuses what is not a block', () => {
    expect(decodeBlock(MINUTE_BLOCKS, '{"t":1}')).toBeNull();
    expect(decodeBlock(MINUTE_BLOCKS, '')).toBeNull();
    expect(() => encodeBlock(MINUTE_BLOCKS, start, [point(start + 1200, 1, 1, 1)])).toThrow(RangeError);
  });

  it('spreads the IPs over the 20 minutes and finds the blocks of a window in one ring', () => {
    const phases = new Set(
      Array.from({ length: 200 }, (_, i) => blockStartOf(MINUTE_BLOCKS, `10.0.${i}.1`, 0) % 1200),
    );
    expect(phases.size).toBeGreaterThan(10);
    const now = 1_700_000_000;
    const day = blockStartsIn(MINUTE_BLOCKS, ip, now - 86_400, now);
    expect(day.length).toBe(73);
    expect(new Set(day.map((s) => slotOf(MINUTE_BLOCKS, ip, s))).size).toBe(73);
    expect(blockStartsIn(MINUTE_BLOCKS, ip, now - 3600, now).length).toBeLessThanOrEqual(4);
    expect(blockStartsIn(HOUR_BLOCKS, ip, now - 30 * 86_400, now).length).toBe(31);
  });
});
