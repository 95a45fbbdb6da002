import { describe, expect, it } from 'vitest';
import type { AlertState, Observation } from '../../shared/alert-schema.ts';
import { initialState, nextState } from './state-machine.ts';

// A fake clock: evaluations every 60 s of made-up time, the rule's life driven by what they see.

const bad: Observation = { failing: true, failing_count: 2, worst: [], diagnosis: [] };
const good: Observation = { failing: false, failing_count: 0, worst: [], diagnosis: [] };

function run(forSeconds: number, seen: Observation[], stepMs = 60_000) {
  let state: AlertState = initialState('abcd1234');
  const events: { at: number; event: string }[] = [];
  const phases: string[] = [];
  seen.forEach((observation, i) => {
    const now = 1_000_000 + i * stepMs;
    const next = nextState(state, observation, forSeconds, now);
    if (next) {
      expect(next.version).toBe(state.version + 1);
      state = next;
      if (next.event) events.push({ at: i, event: next.event });
    }
    phases.push(state.phase);
  });
  return { events, phases, state };
}

describe('alert state machine', () => {
  it('fires once the condition has held for for_s, not before', () => {
    const { events, phases } = run(120, [bad, bad, bad, bad, bad]);
    expect(phases).toEqual(['pending', 'pending', 'firing', 'firing', 'firing']);
    expect(events).toEqual([{ at: 2, event: 'firing' }]);
  });

  it('resolves once when the condition clears, and stays quiet while it stays clear', () => {
    const { events, phases } = run(60, [bad, bad, good, good, good]);
    expect(phases).toEqual(['pending', 'firing', 'resolved', 'resolved', 'resolved']);
    expect(events.map((e) => e.event)).toEqual(['firing', 'resolved']);
  });

  it('a failure shorter than for_s goes back to ok unannounced', () => {
    const { events, phases } = run(180, [bad, bad, good, bad, bad, bad, bad]);
    expect(phases).toEqual(['pending', 'pending', 'ok', 'pending', 'pending', 'pending', 'firing']);
    expect(events).toEqual([{ at: 6, event: 'firing' }]);
  });

  it('fires at the first failing evaluation when for_s is 0, and fires again after a resolve', () => {
    const { events } = run(0, [bad, good, bad]);
    expect(events.map((e) => e.event)).toEqual(['firing', 'resolved', 'firing']);
  });

  it('counts for_s from the first failing evaluation, to the millisecond', () => {
    const start = initialState('abcd1234');
    const pending = nextState(start, bad, 30, 10_000)!;
    expect(nextState(pending, bad, 30, 39_999)).toBeNull();
    const firing = nextState(pending, bad, 30, 40_000)!;
    expect(firing.phase).toBe('firing');
    expect(firing.failing_since_ms).toBe(10_000);
    expect(firing.observation).toBe(bad);
  });
});
