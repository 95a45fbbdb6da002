import type { AlertState, Observation } from '../../shared/alert-schema.ts';

// A rule's life as pure logic: ok → pending → firing → resolved (→ pending again ...). The condition
// must hold at every evaluation for `for_s` before the rule fires; pending that clears goes back to
// ok unannounced; firing that clears resolves at once. Only firing and resolved are announced. Each
// new state has the next version, and the version is what evaluations race for (evaluate.ts), so a
// transition is made, and announced, once.

/** The state of a rule no evaluation has seen yet. */
export function initialState(ruleId: string): AlertState {
  return {
    rule_id: ruleId,
    version: 0,
    phase: 'ok',
    since_ms: 0,
    failing_since_ms: null,
    event: null,
    observation: null,
  };
}

/** The state after one evaluation, or null when it stays as it is. */
export function nextState(
  current: AlertState,
  seen: Observation,
  forSeconds: number,
  nowMs: number,
): AlertState | null {
  const move = (phase: AlertState['phase'], failingSince: number | null): AlertState => ({
    rule_id: current.rule_id,
    version: current.version + 1,
    phase,
    since_ms: nowMs,
    failing_since_ms: failingSince,
    event: phase === 'firing' || phase === 'resolved' ? phase : null,
    observation: seen,
  });
  switch (current.phase) {
    case 'ok':
    case 'resolved':
      if (!seen.failing) return null;
      return forSeconds === 0 ? move('firing', nowMs) : move('pending', nowMs);
    case 'pending': {
      if (!seen.failing) return move('ok', null);
      const since = current.failing_since_ms ?? current.since_ms;
      return nowMs - since >= forSeconds * 1000 ? move('firing', since) : null;
    }
    case 'firing':
      return seen.failing ? null : move('resolved', null);
  }
}
