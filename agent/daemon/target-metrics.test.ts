import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import { AgentMetrics } from './metrics.ts';

const zero = () => 0;
const gauges = {
  spoolBatches: zero,
  spoolBytes: zero,
  spoolDropped: zero,
  spoolBad: zero,
  writeFailures: zero,
  requests: zero,
  commands: zero,
  errListSize: zero,
  targets: zero,
  skippedRuns: zero,
};

describe('per-target series', () => {
  it('are off by default: no series labelled with a target', () => {
    const m = new AgentMetrics('edge-1', gauges);
    m.recordTargetFigures('dc1', [{ target: '198.18.0.1', loss: 0.5, rttMs: 3 }]);
    expect(m.render()).not.toContain('ping_agent_target_');
    const base = {
      PING_AGENT_NAME: 'edge-1',
      UPSTASH_REDIS_REST_URL: 'https://r.example',
      UPSTASH_REDIS_REST_TOKEN: 't',
    };
    expect(loadConfig(base).metricsTargets).toBe(0);
    expect(loadConfig({ ...base, PING_AGENT_METRICS_TARGETS: '500' }).metricsTargets).toBe(500);
    expect(() => loadConfig({ ...base, PING_AGENT_METRICS_TARGETS: '-1' })).toThrow(
      /PING_AGENT_METRICS_TARGETS/,
    );
  });

  it('export loss and RTT labelled group and target, capped, saying once what the cap cut', () => {
    const m = new AgentMetrics('edge-1', gauges);
    const said: string[] = [];
    m.enableTargetSeries(2, (message) => said.push(message));
    const run = () =>
      m.recordTargetFigures('dc1', [
        { target: '198.18.0.1', loss: 0.25, rttMs: 1.5 },
        { target: '198.18.0.2', loss: 0, rttMs: null },
        { target: '198.18.0.3', loss: 1, rttMs: null },
      ]);
    run();
    run();
    const text = m.render();
    expect(text).toContain(
      'ping_agent_target_loss_ratio{agent="edge-1",group="dc1",target="198.18.0.1"} 0.25',
    );
    expect(text).toContain('ping_agent_target_loss_ratio{agent="edge-1",group="dc1",target="198.18.0.2"} 0');
    expect(text).toContain(
      'ping_agent_target_rtt_seconds{agent="edge-1",group="dc1",target="198.18.0.1"} 0.0015',
    );
    expect(text).not.toContain('target="198.18.0.3"');
    expect(text).not.toContain(
      'ping_agent_target_rtt_seconds{agent="edge-1",group="dc1",target="198.18.0.2"}',
    );
    expect(text).toContain('ping_agent_target_series_cut{agent="edge-1"} 1');
    expect(said).toEqual([
      'per-target metrics are capped at 2 (group, target) pairs (PING_AGENT_METRICS_TARGETS); 1 pair(s) are not exported',
    ]);
    m.retainTargets((_group, target) => target !== '198.18.0.1');
    m.recordTargetFigures('dc1', [{ target: '198.18.0.3', loss: 1, rttMs: null }]);
    expect(m.render()).toContain('target="198.18.0.3"} 1');
    expect(m.render()).toContain('ping_agent_target_series_cut{agent="edge-1"} 0');
  });
});
