import { describe, expect, it } from 'vitest';
import {
  MEASUREMENT_ID_PATTERN,
  measurementAgentState,
  measurementDeadline,
  measurementMessage,
  newMeasurementId,
  parseMeasurementMessage,
} from './measurement-schema.ts';

describe('measurement messages on the config channel', () => {
  it('round-trips, and leaves every other message (a config change) alone', () => {
    const id = newMeasurementId();
    expect(id).toMatch(MEASUREMENT_ID_PATTERN);
    const text = measurementMessage(id, ['edge-1', 'edge-2']);
    expect(text).not.toContain('\n');
    expect(parseMeasurementMessage(text)).toEqual({ type: 'measurement', id, agents: ['edge-1', 'edge-2'] });
    expect(parseMeasurementMessage(JSON.parse(text))).toEqual(parseMeasurementMessage(text));
    for (const other of ['changed', '{', '{"type":"measurement","id":"x_y","agents":[]}', 42, null]) {
      expect(parseMeasurementMessage(other), String(other)).toBeNull();
    }
  });
});

describe("an agent's state as a client sees it", () => {
  const chosen = { started_at: 'p1' };
  const deadline = 10_000;
  it('takes what the agent wrote when it ended, else what its heartbeat says', () => {
    const running = { state: 'running' as const, started_at: 1 };
    expect(measurementAgentState(chosen, null, 'p1', deadline, 5_000)).toEqual({ state: 'queued' });
    expect(measurementAgentState(chosen, running, 'p1', deadline, 5_000)).toEqual({ state: 'running' });
    expect(measurementAgentState(chosen, { ...running, state: 'finished' }, null, deadline, 99_000)).toEqual({
      state: 'finished',
    });
    expect(measurementAgentState(chosen, running, 'p2', deadline, 5_000)).toMatchObject({ state: 'failed' });
    expect(measurementAgentState(chosen, running, null, deadline, 5_000)).toMatchObject({ state: 'failed' });
    expect(measurementAgentState(chosen, running, 'p1', deadline, 10_001)).toMatchObject({ state: 'failed' });
  });

  it('allows for the probing and the pacing of large measurements in the deadline', () => {
    const small = measurementDeadline(0, { targets: 10, count: 3, interval_ms: 100, timeout_ms: 1000 });
    const large = measurementDeadline(0, { targets: 1024, count: 100, interval_ms: 100, timeout_ms: 1000 });
    expect(small).toBeGreaterThan(1_200);
    expect(small).toBeLessThan(6_000);
    expect(large).toBeGreaterThan(9_900 + 1_000 + 102_400);
  });
});
