import { afterAll, describe, expect, it } from 'vitest';
import { historyPointSchema } from '../../shared/schema.ts';
import { queueResultCommand, resultCommands } from '../../shared/store/results.ts';
import { createStore } from '../../shared/store.ts';
import { startTestBackend, type TestBackend } from '../../test/support/backend.ts';
import { type FinishedPoint, HistoryBuckets } from './history-buckets.ts';

let backend: TestBackend | undefined;
afterAll(() => backend?.close());

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
    const drained = h.drain('1@first');
    expect(drained.map((d) => d.resolution).sort()).toEqual(['hour', 'minute']);
    expect(drained.every((d) => d.point.received === 0 && d.point.median === null)).toBe(true);
    expect(h.drain('1@first')).toEqual([]);
  });

  it("keeps both processes' parts of a bucket in Redis even when they come out identical", async () => {
    backend = await startTestBackend();
    const store = createStore(backend.redis);
    const build = resultCommands(store);
    const t0 = 1_700_000_040;
    // A dead target, stopped mid-minute after 3 probes, restarted, 3 more probes, stopped again.
    for (const [part, at] of [
      ['101@2026-01-01T00:00:00.000Z', t0 + 5],
      ['102@2026-01-01T00:00:31.000Z', t0 + 35],
    ] as const) {
      const h = new HistoryBuckets();
      for (let i = 0; i < 3; i++) h.add('198.18.0.4', 1, [], at + i * 5, []);
      const p = backend.redis.pipeline();
      for (const { ip, resolution, point } of h.drain(part)) {
        queueResultCommand(p, build.historyPoint('a-parts', ip, resolution, point));
      }
      await p.exec();
    }
    const minutes = await store.history.range('a-parts', '198.18.0.4', 'minute', t0, t0);
    expect(minutes).toEqual([
      {
        t: t0,
        sent: 6,
        received: 0,
        min: null,
        p10: null,
        p25: null,
        median: null,
        p75: null,
        p90: null,
        max: null,
      },
    ]);
    const hours = await store.history.range('a-parts', '198.18.0.4', 'hour', 0, t0);
    expect(hours.map((p) => p.sent)).toEqual([6]);
  });
});
