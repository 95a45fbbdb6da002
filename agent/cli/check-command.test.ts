import { describe, expect, it } from 'vitest';
import { summary } from './check-command.ts';

describe('ping-agent check output', () => {
  it('marks the likely cause of each failure and prints the diagnosis', () => {
    const text = summary({
      ok: false,
      group: 'dc1',
      agents: ['edge-1', 'edge-2'],
      checked: 4,
      limits: { max_loss: 0, max_rtt_ms: null, max_age_s: 180 },
      failing_count: 2,
      failing: [
        {
          agent: 'edge-2',
          ip: '10.0.0.1',
          reason: 'loss',
          loss: 0.5,
          rtt_ms: 1,
          age_s: 3,
          likely_cause: 'agent',
        },
        {
          agent: 'edge-1',
          ip: '10.0.0.2',
          reason: 'loss',
          loss: 0.1,
          rtt_ms: 1,
          age_s: 3,
          likely_cause: 'unknown',
        },
      ],
      diagnosis: ['edge-2 loses to 96% of its 1,000 targets: its own link'],
    });
    const lines = text.trimEnd().split('\n');
    expect(lines[1]).toMatch(/edge-2\s+10\.0\.0\.1\s+loss\s+loss 50%.*\(likely: the agent\)$/);
    expect(lines[2]).not.toContain('likely');
    expect(lines.slice(3)).toEqual([
      'where the fault likely is:',
      '  edge-2 loses to 96% of its 1,000 targets: its own link',
    ]);
  });
});
