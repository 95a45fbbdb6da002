import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeadlineQueue } from './deadline-queue.ts';
import { rttStats } from './rtt-stats.ts';

describe('DeadlineQueue', () => {
  it('expires entries of several timeouts in deadline order, each exactly once', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(100, 250, 1000), { maxLength: 3000 }), (timeouts) => {
        const q = new DeadlineQueue();
        const expected: number[] = [];
        timeouts.forEach((t, i) => {
          q.push(t, i + t, i & 0xffff, i);
          expected.push(i + t);
        });
        const seen: number[] = [];
        for (let now = 0; now <= 4000 && q.size > 0; now += 50) {
          q.expireUntil(now, (_seq, serial) => {
            expect(timeouts[serial]! + serial).toBeLessThanOrEqual(now);
            seen.push(serial);
          });
        }
        expect(seen.sort((a, b) => a - b)).toEqual(timeouts.map((_, i) => i));
        expect(q.next()).toBe(Number.POSITIVE_INFINITY);
      }),
      { numRuns: 50 },
    );
  });
});

describe('rttStats', () => {
  it('summarizes like ping (mdev) with an interpolated median and p95', () => {
    expect(rttStats([])).toBeNull();
    const stats = rttStats([4, 1, 3, 2])!;
    const want = { min: 1, avg: 2.5, max: 4, p50: 2.5, p95: 3.85, mdev: Math.sqrt(1.25) };
    for (const [key, value] of Object.entries(want))
      expect(stats[key as keyof typeof want]).toBeCloseTo(value, 9);
  });
});
