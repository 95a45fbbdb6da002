import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { summary } from '../../agent/cli/check-command.ts';
import { AgentProcess } from '../../agent/daemon/testing/agent-process.ts';
import { type ApiHarness, startApiHarness } from '../../functions/testing/api-harness.ts';
import { keySchema } from '../../shared/keys.ts';
import { createLab, type Lab } from './lab.ts';
import { describeLab, labMissing } from './require-lab.ts';

// Where the fault is, end to end: three real agents (the shipped CLI) probe the lab's targets and
// write through the gateway to redis-server; the API answers /v1/check from their summaries.
// Two faults at once: one target drops every probe (seen by all agents), and one agent's own probes
// are dropped on the way to every target, as behind a lossy link at its site (the lab tells that
// agent's packets by their payload size, which its job sets).

const keys = keySchema();
const AGENTS = ['edge-1', 'edge-2', 'edge-3'];
const LOSSY_AGENT = 'edge-2';
const LOSSY_SIZE = 200;
let lab: Lab;
let api: ApiHarness;
let spoolRoot: string;
const agents: AgentProcess[] = [];

beforeAll(async () => {
  if (labMissing) return;
  lab = await createLab({ targets: 8 });
  api = await startApiHarness();
  spoolRoot = await mkdtemp(join(tmpdir(), 'fault-site-'));
}, 60_000);

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop('SIGKILL').catch(() => {})));
  await lab?.close();
  await api?.close();
  if (spoolRoot) await rm(spoolRoot, { recursive: true, force: true });
});

function startAgent(name: string): AgentProcess {
  const agent = AgentProcess.start({
    UPSTASH_REDIS_REST_URL: api.backend.gatewayUrl,
    UPSTASH_REDIS_REST_TOKEN: api.backend.token,
    PING_AGENT_NAME: name,
    PING_AGENT_SPOOL_DIR: join(spoolRoot, name),
    // Long enough that a heartbeat delayed on a loaded machine never shows an agent offline.
    PING_AGENT_HEARTBEAT_TTL_S: '30',
    PING_AGENT_RESYNC_S: '3',
    PING_AGENT_CLEAN_WINDOW_S: '3',
    PING_AGENT_REQUEST_TIMEOUT_MS: '1000',
    PING_AGENT_RATE_PPS: '500',
  });
  agents.push(agent);
  return agent;
}

describeLab('where the fault is', () => {
  it('tells a lossy target seen by several agents from an agent behind a lossy link', async () => {
    const [lossyTarget] = lab.targets;
    expect((await api.call('PUT', '/v1/groups/dc', { body: { ips: lab.targets } })).status).toBe(200);
    for (const name of AGENTS) {
      const body = {
        spec: '*/1 * * * * *',
        groups: ['dc'],
        count: 3,
        timeout_ms: 400,
        size: name === LOSSY_AGENT ? LOSSY_SIZE : 56,
      };
      expect((await api.call('PUT', `/v1/agents/${name}/jobs/core`, { body })).status).toBe(200);
    }
    const running = AGENTS.map(startAgent);
    for (const agent of running) {
      await agent.waitFor('two runs', () => agent.runs('core').length >= 2, 20_000);
    }
    const healthy = await api.call('GET', '/v1/check?group=dc');
    expect(healthy.body).toMatchObject({ ok: true, answered_from: 'summaries', checked: 24 });

    await lab.setLoss(lossyTarget!, 100);
    // 90%: the window holds as few as 4 of the agent's probes per target; at 70% one of 8 targets in
    // about 16 checks had every probe of the window come back: the link working, not a misdiagnosis.
    await lab.setLossForSize(LOSSY_SIZE, 90);
    const marks = running.map((a) => a.runs('core').length);
    for (const [i, agent] of running.entries()) {
      await agent.waitFor('three more runs', () => agent.runs('core').length >= marks[i]! + 3, 20_000);
    }
    const res = await api.call('GET', '/v1/check?group=dc');
    expect(res.status).toBe(412);
    expect(res.body.answered_from).toBe('summaries');
    const causeOf = (agent: string, ip: string) =>
      res.body.failing.find((f: { agent: string; ip: string }) => f.agent === agent && f.ip === ip)
        ?.likely_cause;
    const seen = JSON.stringify(res.body);
    for (const ip of lab.targets) expect(causeOf(LOSSY_AGENT, ip), `${ip} in ${seen}`).toBe('agent');
    expect(causeOf('edge-1', lossyTarget!)).toBe('target');
    expect(causeOf('edge-3', lossyTarget!)).toBe('target');
    // Nothing else fails: the other agents see the other targets clean.
    const others = res.body.failing.filter((f: { agent: string }) => f.agent !== LOSSY_AGENT);
    expect(others.map((f: { ip: string }) => f.ip)).toEqual([lossyTarget, lossyTarget]);
    expect(res.body.diagnosis).toEqual([
      expect.stringMatching(/^edge-2 loses to (8[0-9]|9[0-9]|100)% of its 8 targets: its own link$/),
      `${lossyTarget}: 2 of 2 agents lose packets to it or see it slow: the target`,
    ]);
    // What `ping-agent check` prints of it.
    const printed = summary(res.body);
    expect(printed).toContain('where the fault likely is:');
    expect(printed).toMatch(
      new RegExp(`edge-1\\s+${lossyTarget!.replace(/\./g, '\\.')}\\s+loss.*\\(likely: the target\\)`),
    );
    // The summaries the agents wrote hold what the full read finds.
    const p = api.backend.redis.pipeline();
    for (const name of AGENTS) p.del(keys.groupSummary(name, 'dc'));
    await p.exec();
    const full = await api.call('GET', '/v1/check?group=dc&max_age_s=600');
    expect(full.body.answered_from).toBe('statuses');
    expect(
      full.body.failing
        .filter((f: { agent: string }) => f.agent !== LOSSY_AGENT)
        .map((f: { ip: string }) => f.ip),
    ).toEqual([lossyTarget, lossyTarget]);
    await lab.clearLoss();
  }, 120_000);
});
