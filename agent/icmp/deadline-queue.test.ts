import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DeadlineQueue } from './deadline-queue.ts';
import { rttStats } from './rtt-stats.ts';

describe('DeadlineQueue', () => {
  it('expires entries of several timeouts in deadline order, each exactly once and on time', () => {
    fc.assert(
      // Hundreds of entries and coarse steps, so one call expires entries of several rings.
      fc.property(
        fc.array(fc.constantFrom(100, 250, 1000), { minLength: 200, maxLength: 2000 }),
        fc.integer({ min: 1, max: 400 }),
        (timeouts, step) => {
          const q = new DeadlineQueue();
          const deadlineOf = (serial: number) => serial + timeouts[serial]!;
          timeouts.forEach((t, i) => {
            q.push(t, deadlineOf(i), i & 0xffff, i);
          });
          const seen: number[] = [];
          let previous = Number.NEGATIVE_INFINITY;
          for (let now = 0; now <= 5000 && q.size > 0; now += step) {
            const before = q.next();
            q.expireUntil(now, (seq, serial) => {
              // Due by now, and not already due at the previous call (else it would have gone then).
              expect(deadlineOf(serial)).toBeLessThanOrEqual(now);
              expect(deadlineOf(serial)).toBeGreaterThan(previous);
              expect(seq).toBe(serial & 0xffff);
              seen.push(serial);
            });
            if (before <= now) expect(deadlineOf(seen.at(-1)!)).toBeLessThanOrEqual(q.next());
            previous = now;
          }
          // In deadline order across the rings, not ring by ring; each entry once.
          const deadlines = seen.map(deadlineOf);
          expect(deadlines).toEqual([...deadlines].sort((a, b) => a - b));
          expect(new Set(seen).size).toBe(timeouts.length);
          expect(seen).toHaveLength(timeouts.length);
          expect(q.next()).toBe(Number.POSITIVE_INFINITY);
          expect(q.size).toBe(0);
        },
      ),
      { numRuns: 30 },
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
