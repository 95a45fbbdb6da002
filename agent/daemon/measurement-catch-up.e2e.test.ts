import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type ApiAnswer,
  type ApiHarness,
  startApiHarness,
  TOKENS,
} from '../../functions/testing/api-harness.ts';
import { type Gateway, startGateway } from '../../gateway/start-gateway.ts';
import { keySchema } from '../../shared/keys.ts';
import { credentialStore } from '../../shared/store/credentials.ts';
import { createLab, type Lab } from '../../test/lab/lab.ts';
import { describeLab, labMissing } from '../../test/lab/require-lab.ts';
import { AgentProcess } from './testing/agent-process.ts';

// The real agent (`ping-agent run`, its own scoped credential, real ICMP into the lab) and the
// real POST /v1/measurements: a measurement announced while the agent's stream is down (its
// gateway stopped, the API's still up, so the PUBLISH reaches no one) is run once the agent
// subscribes again; one it finished, or one whose deadline passed meanwhile, is not run again.

const keys = keySchema();
const AGENT = 'c-one';
let api: ApiHarness;
let gateway: Gateway;
let port = 0;
let spoolRoot: string;
let lab: Lab;
let agent: AgentProcess;

async function startAgentGateway(): Promise<void> {
  gateway = await startGateway({ redisUrl: api.backend.redisUrl, token: api.backend.token, port });
  port = gateway.port;
}

beforeAll(async () => {
  if (labMissing) return;
  lab = await createLab({ targets: 3 });
  api = await startApiHarness();
  await startAgentGateway();
  spoolRoot = await mkdtemp(join(tmpdir(), 'measurement-catch-up-'));
  const { token } = await credentialStore({ redis: api.backend.redis, keys }).issue(AGENT);
  agent = AgentProcess.start({
    UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${port}`,
    UPSTASH_REDIS_REST_TOKEN: token,
    PING_AGENT_NAME: AGENT,
    PING_AGENT_SPOOL_DIR: join(spoolRoot, AGENT),
    // Outlives every outage below, so the API still sees the agent online.
    PING_AGENT_HEARTBEAT_TTL_S: '60',
    PING_AGENT_REQUEST_TIMEOUT_MS: '1000',
  });
  await agent.waitFor('agent running', () => agent.lines.some((l) => l.msg === 'agent running'), 30_000);
});

afterAll(async () => {
  await agent?.stop('SIGKILL').catch(() => {});
  await lab?.close();
  await gateway?.close();
  await api?.close();
  if (spoolRoot) await rm(spoolRoot, { recursive: true, force: true });
});

/** Stops the agent's gateway and waits until Redis shows nobody on the config channel. */
async function cutTheStream(): Promise<void> {
  await gateway.close();
  const until = Date.now() + 10_000;
  for (;;) {
    const [, listeners] = (await api.backend.redis.exec(['PUBSUB', 'NUMSUB', keys.configChannel()])) as [
      string,
      number,
    ];
    if (Number(listeners) === 0) return;
    if (Date.now() > until) throw new Error('the agent still listens after its gateway stopped');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function post(body: Record<string, unknown>): Promise<string> {
  const res = await api.call('POST', '/v1/measurements', { body: { agents: [AGENT], ...body } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  expect(res.body.agents).toEqual([AGENT]);
  return res.body.id;
}

const read = (id: string, waitS = 0): Promise<ApiAnswer> =>
  api.call('GET', `/v1/measurements/${id}?wait_s=${waitS}`, { token: TOKENS.read });

/** Waits (bounded) for the measurement to be done and answers its one agent. */
async function outcome(id: string) {
  const until = Date.now() + 40_000;
  let res = await read(id, 20);
  while (!res.body.done && Date.now() < until) res = await read(id, 20);
  expect(res.body.done).toBe(true);
  return res.body.agents[0];
}

const caughtUp = () =>
  agent.lines.filter((l) => l.msg.startsWith('caught up')).map((l) => l.measurements as string[]);
const finishedRuns = (id: string) =>
  agent.lines.filter((l) => l.msg === 'measurement finished' && l.measurement === id).length;

describeLab('an agent catching up on measurements announced while its stream was down', () => {
  let first: string;

  it('runs one announced while its gateway was down, once it listens again', async () => {
    const targets = [lab.targets[0]!, lab.targets[1]!];
    await cutTheStream();
    first = await post({ targets, count: 3, interval_ms: 200, timeout_ms: 10_000 });
    expect((await read(first)).body.agents[0].state).toBe('queued');
    await startAgentGateway();

    const result = await outcome(first);
    expect(result, JSON.stringify(result)).toMatchObject({ name: AGENT, state: 'finished' });
    expect(
      result.results.map((t: { ip: string; sent: number; received: number }) => [t.ip, t.sent, t.received]),
    ).toEqual(targets.sort().map((ip) => [ip, 3, 3]));
    expect(caughtUp()).toEqual([[first]]);
    // Every read and write of the scoped credential allowed (an outage shows as ECONNREFUSED).
    expect(agent.lines.filter((l) => /NOPERM/.test(JSON.stringify(l)))).toEqual([]);
  }, 60_000);

  it('does not run again one it finished, still before its deadline', async () => {
    const finished = await read(first);
    await cutTheStream();
    const next = await post({ targets: [lab.targets[2]], count: 2, interval_ms: 100, timeout_ms: 10_000 });
    // The first is still pending, so the catch-up below reads it again.
    expect(Number(await api.backend.redis.zscore(keys.measurementPending(), first))).toBeGreaterThan(
      Date.now() + 3_000,
    );
    await startAgentGateway();

    expect(await outcome(next)).toMatchObject({ state: 'finished', results: [{ sent: 2, received: 2 }] });
    expect(caughtUp()).toEqual([[first], [next]]);
    expect(finishedRuns(first)).toBe(1);
    expect((await read(first)).body.agents).toEqual(finished.body.agents);
  }, 60_000);

  it('does not run one whose deadline passed while it was not listening', async () => {
    await cutTheStream();
    const expired = await post({ targets: [lab.targets[0]], count: 1, timeout_ms: 1 });
    const live = await post({ targets: [lab.targets[1]], count: 1, timeout_ms: 10_000 });
    expect(await outcome(expired)).toMatchObject({
      state: 'failed',
      error: 'no answer from the agent before the deadline',
    });
    await startAgentGateway();

    expect(await outcome(live)).toMatchObject({ state: 'finished' });
    expect(caughtUp().at(-1)).toEqual([live]);
    expect(finishedRuns(expired)).toBe(0);
    expect(await api.backend.redis.get(keys.measurementState(AGENT, expired))).toBeNull();
    expect(await outcome(expired)).toMatchObject({ state: 'failed' });
  }, 60_000);
});
