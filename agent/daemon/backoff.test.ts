import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff.ts';

describe('Backoff', () => {
  it('doubles up to the cap, with jitter in the upper half', () => {
    const low = new Backoff({ baseMs: 100, capMs: 1_000, random: () => 0 });
    const high = new Backoff({ baseMs: 100, capMs: 1_000, random: () => 0.999999 });
    expect([1, 2, 3, 4, 5].map(() => low.next())).toEqual([50, 100, 200, 400, 500]);
    expect([1, 2, 3, 4, 5].map(() => high.next())).toEqual([100, 200, 400, 800, 1000]);
    low.reset();
    expect(low.next()).toBe(50);
  });
});
