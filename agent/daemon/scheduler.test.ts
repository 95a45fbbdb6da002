import { describe, expect, it } from 'vitest';
import { type JobPlan, planOf } from './job-set.ts';
import { Scheduler } from './scheduler.ts';

const plan = (name: string, SPEC: string, group = ['g']): JobPlan => planOf(name, { name, SPEC, group });
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Scheduler', () => {
  it('reconciles: keeps unchanged jobs, replaces changed ones, stops removed ones', async () => {
    const runs: string[] = [];
    const s = new Scheduler(
      async (p) => {
        runs.push(`${p.name}:${p.groups.join(',')}`);
      },
      () => {},
    );
    expect(
      s.reconcile(
        new Map([
          ['a', plan('a', '*/1 * * * * *')],
          ['b', plan('b', '*/1 * * * * *')],
        ]),
      ),
    ).toEqual({
      added: ['a', 'b'],
      changed: [],
      removed: [],
    });
    await wait(2_300);
    expect(runs.filter((r) => r === 'a:g').length).toBeGreaterThanOrEqual(2);
    const change = s.reconcile(
      new Map([
        ['a', plan('a', '*/1 * * * * *')],
        ['c', plan('c', '*/1 * * * * *', ['h'])],
        ['b', plan('b', '*/1 * * * * *', ['other'])],
      ]),
    );
    expect(change).toEqual({ added: ['c'], changed: ['b'], removed: [] });
    expect(s.reconcile(new Map([['c', plan('c', '*/1 * * * * *', ['h'])]]))).toEqual({
      added: [],
      changed: [],
      removed: ['a', 'b'],
    });
    runs.length = 0;
    await wait(1_600);
    expect(new Set(runs)).toEqual(new Set(['c:h']));
    await s.stop();
  });

  it('never overlaps runs of one job and waits for the running one at stop', async () => {
    let active = 0;
    let most = 0;
    let finished = 0;
    const s = new Scheduler(
      async () => {
        active += 1;
        most = Math.max(most, active);
        await wait(1_500);
        active -= 1;
        finished += 1;
      },
      () => {},
    );
    s.reconcile(new Map([['slow', plan('slow', '*/1 * * * * *')]]));
    await wait(2_600);
    await s.stop();
    expect(most).toBe(1);
    expect(s.skippedRuns).toBeGreaterThanOrEqual(1);
    expect(active).toBe(0);
    expect(finished).toBeGreaterThanOrEqual(1);
  });
});
