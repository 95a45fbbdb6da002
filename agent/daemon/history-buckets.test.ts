import { afterAll, describe, expect, it } from 'vitest';
import { blockStartOf, MINUTE_BLOCKS } from '../../shared/history-blocks.ts';
import { keySchema } from '../../shared/keys.ts';
import { historyPointSchema } from '../../shared/schema.ts';
import { queueResultCommand } from '../../shared/store/results.ts';
import { createStore } from '../../shared/store.ts';
import { startTestBackend, type TestBackend } from '../../test/support/backend.ts';
import { type FinishedPoint, HistoryBuckets } from './history-buckets.ts';
import { type Entry, PendingBlocks } from './pending-blocks.ts';

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
    const drained = h.drain();
    expect(drained.map((d) => d.resolution).sort()).toEqual(['hour', 'minute']);
    expect(drained.every((d) => d.point.received === 0 && d.point.median === null)).toBe(true);
    expect(h.drain()).toEqual([]);
  });

  it("keeps both processes' parts of a bucket in Redis even when they come out identical", async () => {
    backend = await startTestBackend();
    const store = createStore(backend.redis);
    const ip = '198.18.0.4';
    const t0 = 1_700_000_040;
    // A dead target, stopped mid-minute after 3 probes, restarted, 3 more probes, stopped again.
    for (const at of [t0 + 5, t0 + 35]) {
      const h = new HistoryBuckets();
      const blocks = new PendingBlocks('a-parts', keySchema());
      // The next process carries on the blocks the previous one left open.
      const [minute] = await store.history.openBlocks('a-parts', [ip], 'minute', at);
      if (minute) blocks.seed(ip, 'minute', minute, blockStartOf(MINUTE_BLOCKS, ip, at));
      const [hour] = await store.history.openBlocks('a-parts', [ip], 'hour', at);
      if (hour) blocks.seed(ip, 'hour', hour, at - (at % 86_400));
      for (let i = 0; i < 3; i++) h.add(ip, 1, [], at + i * 5, []);
      const entries: Entry[] = [];
      blocks.add(h.drain(), entries);
      blocks.drain(entries);
      const p = backend.redis.pipeline();
      queueResultCommand(p, { op: 'mset', entries });
      await p.exec();
    }
    const minutes = await store.history.range('a-parts', ip, 'minute', t0, t0);
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
    const hours = await store.history.range('a-parts', ip, 'hour', 0, t0);
    expect(hours.map((p) => p.sent)).toEqual([6]);
  });
});
