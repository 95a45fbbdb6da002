import { afterAll, describe, expect, it } from 'vitest';
import { blockStartOf, decodeBlock, MINUTE_BLOCKS } from '../../shared/history-blocks.ts';
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

  it('sorts each minute on its own: RTTs out of order, a long minute then a short one', () => {
    const h = new HistoryBuckets();
    const out: FinishedPoint[] = [];
    const t0 = 1_700_000_040;
    // 40 RTTs, descending: 40, 39, ... 1 (more than the first scratch space holds).
    h.add(
      '198.18.0.1',
      40,
      Array.from({ length: 40 }, (_, i) => 40 - i),
      t0,
      out,
    );
    h.add('198.18.0.2', 3, [7, 2, 5], t0, out);
    h.add('198.18.0.1', 1, [], t0 + 60, out);
    h.add('198.18.0.2', 1, [], t0 + 60, out);
    const [long, short] = out.map((f) => f.point);
    expect(long).toMatchObject({
      min: 1,
      p10: 4.9,
      p25: 10.75,
      median: 20.5,
      p75: 30.25,
      p90: 36.1,
      max: 40,
    });
    // The shorter minute sees none of the longer one's values left in the scratch space.
    expect(short).toMatchObject({ received: 3, min: 2, median: 5, max: 7, p10: 2.6, p90: 6.6 });
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

  it("does not hand a forgotten IP's minute to the IP that takes its place", () => {
    const h = new HistoryBuckets();
    const t0 = 1_700_000_040;
    for (let i = 0; i < 50; i++) h.add(`198.18.1.${i}`, 1, [i + 1], t0, []);
    h.forget('198.18.1.3');
    h.add('198.18.2.1', 2, [40, 50], t0 + 10, []);
    const out: FinishedPoint[] = [];
    h.add('198.18.2.1', 1, [], t0 + 60, out);
    h.add('198.18.1.49', 1, [], t0 + 60, out);
    expect(
      out.filter((p) => p.resolution === 'minute').map((p) => [p.ip, p.point.sent, p.point.min]),
    ).toEqual([
      ['198.18.2.1', 2, 40],
      ['198.18.1.49', 1, 50],
    ]);
    expect(h.drain().filter((p) => p.ip === '198.18.1.3')).toEqual([]);
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

describe('PendingBlocks', () => {
  const point = (t: number, sent: number) => ({
    t,
    sent,
    received: sent,
    min: 1,
    p10: 1,
    p25: 1,
    median: 1,
    p75: 1,
    p90: 1,
    max: 1,
  });

  it('writes each IP its own whole minute block, a forgotten IP none, past the first capacity', () => {
    const blocks = new PendingBlocks('a', keySchema());
    const ips = Array.from({ length: 60 }, (_, i) => `198.18.3.${i}`);
    const t0 = 1_700_000_040;
    const out: Entry[] = [];
    for (let m = 0; m < 2 * MINUTE_BLOCKS.points; m++) {
      const t = t0 + m * 60;
      if (m === 5) blocks.forget(ips[1]!);
      blocks.add(
        ips
          .map((ip, i) => ({ ip, resolution: 'minute' as const, point: point(t, i + 1) }))
          .filter(({ ip }) => ip !== ips[1] || m < 5),
        out,
      );
    }
    const pointsOf = (ip: string) =>
      out
        .filter(([key]) => key.includes(`_${ip}_`))
        .map(([, value]) => decodeBlock(MINUTE_BLOCKS, value)!.points);
    for (const [ip, sent] of [
      [ips[0]!, 1],
      [ips[59]!, 60],
    ] as const) {
      expect(pointsOf(ip).some((points) => points.length === MINUTE_BLOCKS.points)).toBe(true);
      expect(pointsOf(ip).every((points) => points.every((p) => p.sent === sent))).toBe(true);
    }
    // The forgotten IP's open block was dropped with it, never written.
    expect(
      pointsOf(ips[1]!)
        .flat()
        .every((p) => p.t < t0 + 5 * 60),
    ).toBe(true);
  });
});
