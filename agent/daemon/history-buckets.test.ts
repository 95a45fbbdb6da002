import { describe, expect, it } from 'vitest';
import { historyPointSchema } from '../../shared/schema.ts';
import { type FinishedPoint, HistoryBuckets } from './history-buckets.ts';

describe('HistoryBuckets', () => {
  it('hands out a minute once the next minute starts, with exact quantiles', () => {
    const h = new HistoryBuckets();
    const out: FinishedPoint[] = [];
    const t0 = 1_700_000_040; // a minute start
    for (let i = 0; i < 6; i++) h.add('198.18.0.1', 2, i === 5 ? [] : [i + 1, i + 1.5], t0 + i * 10, out);
    expect(out).toEqual([]);
    h.add('198.18.0.1', 1, [9], t0 + 60, out);
    expect(out).toHaveLength(1);
    const { point, resolution } = out[0]!;
    expect(resolution).toBe('minute');
    expect(historyPointSchema.parse(point)).toEqual(point);
    expect(point).toMatchObject({ t: t0, sent: 12, received: 10, min: 1, max: 5.5, median: 3.25 });
  });

  it('hands out hours with quantiles within a bin of the truth, clamped to min and max', () => {
    const h = new HistoryBuckets();
    const out: FinishedPoint[] = [];
    const hour = 1_699_999_200; // an hour start
    const rtts = Array.from({ length: 100 }, (_, i) => 10 + i); // 10..109 ms
    rtts.forEach((rtt, i) => {
      h.add('198.18.0.2', 1, [rtt], hour + i * 30, out);
    });
    out.length = 0;
    h.add('198.18.0.2', 1, [1], hour + 3600, out);
    const hourly = out.find((p) => p.resolution === 'hour')!.point;
    expect(hourly).toMatchObject({ t: hour, sent: 100, received: 100, min: 10, max: 109 });
    expect(hourly.median!).toBeGreaterThan(59.5 / 1.16);
    expect(hourly.median!).toBeLessThan(59.5 * 1.16);
    expect(hourly.p90!).toBeLessThanOrEqual(109);
  });

  it('drains open buckets at shutdown', () => {
    const h = new HistoryBuckets();
    h.add('198.18.0.3', 1, [], 1_700_000_040, []);
    const drained = h.drain();
    expect(drained.map((d) => d.resolution).sort()).toEqual(['hour', 'minute']);
    expect(drained.every((d) => d.point.received === 0 && d.point.median === null)).toBe(true);
    expect(h.drain()).toEqual([]);
  });
});
