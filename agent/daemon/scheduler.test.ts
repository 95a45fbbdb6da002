import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type JobPlan, planOf, spreadOffsetMs } from './job-set.ts';
import { Scheduler } from './scheduler.ts';

// Croner runs for real here, on a fake clock: the schedules fire on exact seconds and the spread
// offsets elapse exactly, so what is asserted does not depend on how loaded the machine is.

const plan = (name: string, SPEC: string, group = ['g']): JobPlan => planOf(name, { name, SPEC, group });
const wait = (ms: number) => vi.advanceTimersByTimeAsync(ms);

beforeEach(() => {
  // Half a second before a whole second, so every test knows where the next firing falls.
  vi.useFakeTimers({ now: Date.parse('2026-01-01T00:00:00.500Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

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

  it('never starts a run of a job removed or replaced while that run waited for its spread offset', async () => {
    const offset = spreadOffsetMs('a', 1);
    expect(offset).toBeGreaterThan(100);
    const runs: string[] = [];
    const s = new Scheduler(
      async (p) => {
        runs.push(`${p.name}:${p.groups.join(',')}`);
      },
      () => {},
    );
    s.reconcile(new Map([['a', plan('a', '* * * * * *')]]));
    // Just past the whole second: the schedule fired, the run waits for its offset.
    const half = Math.floor(offset / 2);
    await wait(500 + half);
    expect(runs).toEqual([]);
    s.reconcile(new Map([['a', plan('a', '* * * * * *', ['h'])]]));
    await wait(1_000 + offset - half);
    // The replaced definition never ran; the new one fired on the next second, after its offset.
    expect(runs).toEqual(['a:h']);

    await wait(1_000 - offset + half);
    // Past the next whole second again, inside the new run's offset: remove the job.
    expect(runs).toEqual(['a:h']);
    expect(s.reconcile(new Map()).removed).toEqual(['a']);
    await wait(3_000);
    expect(runs).toEqual(['a:h']);
    await s.stop();
  });

  it('does not start a changed job while the run of its old definition is still going', async () => {
    let active = 0;
    let most = 0;
    const runs: string[] = [];
    const s = new Scheduler(
      async (p) => {
        active += 1;
        most = Math.max(most, active);
        runs.push(p.groups.join(','));
        await new Promise((r) => setTimeout(r, 1_500));
        active -= 1;
      },
      () => {},
    );
    s.reconcile(new Map([['slow', plan('slow', '* * * * * *')]]));
    await wait(1_000);
    expect(runs).toEqual(['g']);
    expect(s.reconcile(new Map([['slow', plan('slow', '* * * * * *', ['h'])]])).changed).toEqual(['slow']);
    await wait(3_000);
    const stopped = s.stop();
    await wait(1_500);
    await stopped;
    expect(most).toBe(1);
    expect(runs[0]).toBe('g');
    expect(runs.slice(1)).toContain('h');
    expect(s.skippedRuns).toBeGreaterThanOrEqual(1);
  });

  it('schedules a job of the same name in two schedulers (a stored job may be called err-list)', async () => {
    const runs: string[] = [];
    const record = async (p: JobPlan) => {
      runs.push(p.groups.join(','));
    };
    const builtIn = new Scheduler(record, () => {});
    const stored = new Scheduler(record, () => {});
    builtIn.reconcile(new Map([['err-list', plan('err-list', '* * * * * *', [])]]));
    expect(stored.reconcile(new Map([['err-list', plan('err-list', '* * * * * *')]])).added).toEqual([
      'err-list',
    ]);
    await wait(1_300);
    expect(runs.sort()).toEqual(['', 'g']);
    await Promise.all([builtIn.stop(), stored.stop()]);
  });

  it('never overlaps runs of one job and waits for the running one at stop', async () => {
    let active = 0;
    let most = 0;
    let finished = 0;
    const s = new Scheduler(
      async () => {
        active += 1;
        most = Math.max(most, active);
        await new Promise((r) => setTimeout(r, 1_500));
        active -= 1;
        finished += 1;
      },
      () => {},
    );
    s.reconcile(new Map([['slow', plan('slow', '*/1 * * * * *')]]));
    await wait(2_600);
    const stopped = s.stop();
    await wait(1_500);
    await stopped;
    expect(most).toBe(1);
    expect(s.skippedRuns).toBeGreaterThanOrEqual(1);
    expect(active).toBe(0);
    expect(finished).toBeGreaterThanOrEqual(1);
  });
});
