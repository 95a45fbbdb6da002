import { describe, expect, it } from 'vitest';
import type { StoredJob } from '../../shared/store/jobs.ts';
import { intervalOf, nextJobSet, spreadOffsetMs } from './job-set.ts';

const job = (name: string, SPEC: string, group: string[]): StoredJob => ({
  name,
  job: { name, SPEC, group },
});

describe('nextJobSet', () => {
  it('plans good jobs and reports bad ones without touching the others', () => {
    const first = nextJobSet(
      [job('a', '*/10 * * * * *', ['dc1']), job('b', '*/30 * * * * *', ['dc2'])],
      new Set(['dc1', 'dc2']),
      new Map(),
    );
    expect([...first.plans.keys()]).toEqual(['a', 'b']);
    expect(first.plans.get('a')).toMatchObject({ count: 1, timeoutMs: 1000, intervalS: 10, groups: ['dc1'] });

    const second = nextJobSet(
      [
        job('a', 'not a spec', ['dc1']),
        job('b', '*/30 * * * * *', ['gone']),
        job('c', '0 * * * *', ['dc1']),
        { name: 'd', problem: 'stored value is not JSON' },
      ],
      new Set(['dc1']),
      first.plans,
    );
    // a and b keep their previous definitions; c is new; d never ran, so it is just reported.
    expect(second.plans.get('a')).toBe(first.plans.get('a'));
    expect(second.plans.get('b')).toBe(first.plans.get('b'));
    expect(second.plans.get('c')).toMatchObject({ intervalS: 3600 });
    expect(second.plans.has('d')).toBe(false);
    expect(second.problems.map((p) => [p.name, p.keptPrevious])).toEqual([
      ['a', true],
      ['b', true],
      ['d', false],
    ]);
    expect(second.problems[1]!.problem).toContain('unknown group gone');
  });

  it('derives intervals and spreads offsets within a quarter interval, at most a second', () => {
    expect(intervalOf('*/1 * * * * *')).toBe(1);
    expect(intervalOf('*/5 * * * *')).toBe(300);
    const offsets = ['a', 'b', 'c', 'core', 'edge'].map((n) => spreadOffsetMs(n, 10));
    expect(new Set(offsets).size).toBeGreaterThan(1);
    for (const o of offsets) expect(o).toBeGreaterThanOrEqual(0);
    for (const o of offsets) expect(o).toBeLessThan(1000);
    expect(spreadOffsetMs('x', 1)).toBeLessThan(250);
  });
});
