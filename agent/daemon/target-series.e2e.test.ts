import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Gateway, startGateway } from '../../gateway/start-gateway.ts';
import { keySchema } from '../../shared/keys.ts';
import { createLab, type Lab } from '../../test/lab/lab.ts';
import { describeLab, labMissing } from '../../test/lab/require-lab.ts';
import { startTestBackend, type TestBackend } from '../../test/support/backend.ts';
import { AgentProcess } from './testing/agent-process.ts';

// The opt-in per-target series of /metrics (PING_AGENT_METRICS_TARGETS) on the real agent, probing
// the network lab: a target taken out of its group, or a group no job covers any more, leaves
// /metrics, instead of being exported at its last figures for ever (where an alerting rule on
// `ping_agent_target_loss_ratio` would keep firing, or never fire again, for a target not probed).

const keys = keySchema();
const token = 'target-series-token';
let backend: TestBackend;
let gateway: Gateway;
let lab: Lab;
let spool: string;
let agent: AgentProcess | null = null;

beforeAll(async () => {
  if (labMissing) return;
  lab = await createLab({ targets: 3 });
  backend = await startTestBackend();
  gateway = await startGateway({ redisUrl: backend.redisUrl, token, port: 0 });
  spool = await mkdtemp(join(tmpdir(), 'target-series-'));
});

afterAll(async () => {
  await agent?.stop('SIGKILL').catch(() => {});
  await lab?.close();
  await gateway?.close();
  await backend?.close();
  if (spool) await rm(spool, { recursive: true, force: true });
});

/** The job `core` of edge-ts probes the given group, which holds `ips`; the change is announced. */
async function seedJob(group: string, ips: string[]): Promise<void> {
  const p = backend.redis.pipeline();
  p.del(keys.group(group));
  p.sadd(keys.group(group), ips[0]!, ...ips.slice(1));
  p.sadd(keys.groupsList(), group);
  p.set(
    keys.agentJob('edge-ts', 'core'),
    JSON.stringify({ SPEC: '*/1 * * * * *', name: 'core', group: [group], timeout_ms: 300 }),
  );
  p.sadd(keys.agentJobs('edge-ts'), 'core');
  p.incr(keys.configVersion());
  await p.exec();
}

/** The (group, target) pairs /metrics exports a loss ratio for. */
async function exported(a: AgentProcess): Promise<string[]> {
  const port = a.lines.find((l) => l.msg === 'metrics served at /metrics')?.port;
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return [...text.matchAll(/^ping_agent_target_loss_ratio\{[^}]*group="([^"]+)",target="([^"]+)"\}/gm)]
    .map((m) => `${m[1]} ${m[2]}`)
    .sort();
}

/** Waits for `count` runs of core that started after now, over `targets` targets. */
async function runsAfterChange(a: AgentProcess, targets: number, count: number): Promise<void> {
  const from = a.runs('core').length;
  await a.waitFor(
    `${count} runs over ${targets} target(s)`,
    () =>
      a
        .runs('core')
        .slice(from)
        .filter((r) => r.targets === targets).length >= count,
    15_000,
  );
}

describeLab('per-target metrics of targets no longer probed', () => {
  it('drop a target taken out of its group, and every target of a group no job covers', async () => {
    const [t0, t1, t2] = lab.targets as [string, string, string];
    await seedJob('ts-a', [t0, t1]);
    agent = AgentProcess.start({
      UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${gateway.port}`,
      UPSTASH_REDIS_REST_TOKEN: token,
      PING_AGENT_NAME: 'edge-ts',
      PING_AGENT_SPOOL_DIR: spool,
      PING_AGENT_METRICS_ADDR: '127.0.0.1:0',
      PING_AGENT_METRICS_TARGETS: '10',
      PING_AGENT_CONFIG_POLL_MS: '300',
      PING_AGENT_RATE_PPS: '500',
    });
    await agent.waitFor('2 runs', () => agent!.runs('core').length >= 2, 20_000);
    expect(await exported(agent)).toEqual([`ts-a ${t0}`, `ts-a ${t1}`].sort());

    await seedJob('ts-a', [t0]);
    await runsAfterChange(agent, 1, 1);
    expect(await exported(agent)).toEqual([`ts-a ${t0}`]);

    await seedJob('ts-b', [t2]);
    await runsAfterChange(agent, 1, 1);
    // The run over ts-b could be the one in flight at the change, still over ts-a: one more.
    await runsAfterChange(agent, 1, 1);
    expect(await exported(agent)).toEqual([`ts-b ${t2}`]);
    expect((await agent.stop('SIGTERM')).code).toBe(0);
    agent = null;
  });
});
