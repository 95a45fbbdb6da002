import { describe, expect, it } from 'vitest';
import type { AlertRule, AlertState } from '../../shared/alert-schema.ts';
import { alertEvent, slackMessage } from './messages.ts';

const rule: AlertRule = {
  name: 'dc1-loss',
  id: 'abcd1234abcd1234',
  type: 'group',
  group: 'dc1',
  max_loss: 0.05,
  for_s: 120,
  notify: ['slack-ops'],
};

function state(event: 'firing' | 'resolved'): AlertState {
  return {
    rule_id: rule.id,
    version: event === 'firing' ? 2 : 3,
    phase: event,
    since_ms: Date.UTC(2026, 0, 1, 12, 2),
    failing_since_ms: event === 'firing' ? Date.UTC(2026, 0, 1, 12, 0) : null,
    event,
    observation: {
      failing: event === 'firing',
      failing_count: event === 'firing' ? 7 : 0,
      worst: [
        {
          agent: 'edge-2',
          ip: '198.18.0.9',
          reason: 'loss',
          loss: 0.4,
          rtt_ms: 12.25,
          likely_cause: 'agent',
        },
        { agent: 'edge-1', ip: '198.18.0.7', reason: 'rtt', loss: 0, rtt_ms: 250, likely_cause: 'unknown' },
      ],
      diagnosis: ['edge-2 loses to 96% of its 1,000 targets: its own link'],
    },
  };
}

describe('notification messages', () => {
  it('the webhook event names the rule, group, count, worst entries and limits', () => {
    const event = alertEvent(rule, state('firing'));
    expect(event.type).toBe('alert.firing');
    expect(event.timestamp).toBe('2026-01-01T12:02:00.000Z');
    expect(event.data).toMatchObject({
      rule: 'dc1-loss',
      group: 'dc1',
      state: 'firing',
      since: '2026-01-01T12:00:00.000Z',
      failing_count: 7,
      limits: { max_loss: 0.05, max_rtt_ms: null, max_age_s: null },
    });
    expect(event.data.worst).toHaveLength(2);
  });

  it('Slack reads as a sentence per failing entry, with the likely cause', () => {
    const { text } = slackMessage(alertEvent(rule, state('firing')));
    expect(text.split('\n')).toEqual([
      ':red_circle: *Firing* `dc1-loss` (group `dc1`) since 2026-01-01T12:00:00.000Z: 7 failing (agent, IP) pair(s)',
      '• 198.18.0.9 from edge-2: 40% loss (likely cause: the agent)',
      '• 198.18.0.7 from edge-1: 250.0 ms average RTT',
      '• ... and 5 more',
      'Likely cause: edge-2 loses to 96% of its 1,000 targets: its own link',
    ]);
    expect(slackMessage(alertEvent(rule, state('resolved'))).text).toBe(
      ':large_green_circle: *Resolved* `dc1-loss` (group `dc1`): back within limits since 2026-01-01T12:02:00.000Z',
    );
  });
});
