import { describe, expect, it } from 'vitest';
import { AgentMetrics, serveMetrics } from './metrics.ts';

const gauges = {
  spoolBatches: () => 2,
  spoolBytes: () => 1234,
  spoolDropped: () => 0,
  spoolBad: () => 1,
  writeFailures: () => 3,
  requests: () => 10,
  commands: () => 900,
  errListSize: () => 1,
  targets: () => 5,
  skippedRuns: () => 0,
};

describe('AgentMetrics', () => {
  it('renders counters, a cumulative RTT histogram in seconds and gauges in the text format', async () => {
    const m = new AgentMetrics('edge-1', gauges);
    m.recordTarget('core', 3, 2, [0.8, 30], false, false);
    m.recordTarget('core', 1, 0, [], true, false);
    m.recordRun('core', 0.5);
    m.recordFailedRun('core');
    const text = m.render();
    expect(text).toContain('ping_agent_probes_sent_total{agent="edge-1",job="core"} 4');
    expect(text).toContain('ping_agent_probes_received_total{agent="edge-1",job="core"} 2');
    expect(text).toContain('ping_agent_probes_timeout_total{agent="edge-1",job="core"} 1');
    expect(text).toContain('ping_agent_probes_unreachable_total{agent="edge-1",job="core"} 1');
    expect(text).toContain('ping_agent_rtt_seconds_bucket{agent="edge-1",job="core",le="0.001"} 1');
    expect(text).toContain('ping_agent_rtt_seconds_bucket{agent="edge-1",job="core",le="0.025"} 1');
    expect(text).toContain('ping_agent_rtt_seconds_bucket{agent="edge-1",job="core",le="0.05"} 2');
    expect(text).toContain('ping_agent_rtt_seconds_bucket{agent="edge-1",job="core",le="+Inf"} 2');
    expect(text).toContain('ping_agent_spool_bytes{agent="edge-1"} 1234');
    expect(text).toContain('ping_agent_spool_bad_batches_total{agent="edge-1"} 1');
    expect(text).toContain('ping_agent_job_runs_total{agent="edge-1",job="core"} 1');
    expect(text).toContain('ping_agent_job_run_failures_total{agent="edge-1",job="core"} 1');
    // Every sample line is `name{labels} number`.
    for (const line of text.trim().split('\n')) {
      if (!line.startsWith('#')) expect(line).toMatch(/^[a-z_]+\{[^}]*\} [0-9.e+-]+$/);
    }

    const { server, port } = await serveMetrics(m, '127.0.0.1', 0);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
      expect(await res.text()).toBe(m.render());
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
