import { describe, expect, it } from 'vitest';
import { locateFaults } from './fault-site.ts';
import type { Failing } from './verdict.ts';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const agents = ['edge-1', 'edge-2', 'edge-3'].map((name) => ({ name, online: true, jobs: ['j'] }));
const loss = (agent: string, ip: string): Failing => ({
  agent,
  ip,
  reason: 'loss',
  loss: 0.5,
  rtt_ms: 1,
  age_s: 2,
});
const rollup = (targets: number, lossy: number) => ({
  computed_at: new Date(NOW - 5_000).toISOString(),
  targets,
  lossy,
});

describe('locateFaults', () => {
  it('blames an agent that loses to most of its targets, across its groups', () => {
    const failing = [loss('edge-2', '10.0.0.1'), loss('edge-2', '10.0.0.2')];
    const rollups = new Map([
      ['edge-1', rollup(1000, 0)],
      ['edge-2', rollup(1000, 960)],
    ]);
    const out = locateFaults(failing, agents, rollups, NOW);
    expect(out.failing.map((f) => f.likely_cause)).toEqual(['agent', 'agent']);
    expect(out.diagnosis).toEqual(['edge-2 loses to 96% of its 1,000 targets: its own link']);
  });

  it('blames a target most agents lose packets to', () => {
    const failing = [loss('edge-1', '10.0.0.9'), loss('edge-3', '10.0.0.9'), loss('edge-1', '10.0.0.5')];
    const out = locateFaults(failing, agents, new Map([['edge-1', rollup(1000, 2)]]), NOW);
    expect(out.failing.map((f) => f.likely_cause)).toEqual(['target', 'target', 'unknown']);
    expect(out.diagnosis).toEqual(['10.0.0.9: 2 of 3 agents lose packets to it or see it slow: the target']);
  });

  it('says unknown when neither is clear, and ignores an old roll-up', () => {
    const old = { computed_at: new Date(NOW - 3_600_000).toISOString(), targets: 10, lossy: 10 };
    const out = locateFaults([loss('edge-2', '10.0.0.1')], agents, new Map([['edge-2', old]]), NOW);
    expect(out.failing[0]!.likely_cause).toBe('unknown');
    expect(out.diagnosis).toEqual([]);
  });
});
