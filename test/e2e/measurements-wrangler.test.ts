import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AgentProcess } from '../../agent/daemon/testing/agent-process.ts';
import { keySchema } from '../../shared/keys.ts';
import { credentialStore } from '../../shared/store/credentials.ts';
import { createLab, type Lab } from '../lab/lab.ts';
import { describeLab, labMissing } from '../lab/require-lab.ts';
import { startTestBackend, type TestBackend } from '../support/backend.ts';
import { startWranglerDev, type WranglerDev } from './wrangler-dev.ts';

// On-demand measurements as deployed: the API on `wrangler dev`, redis-server behind our gateway
// (which serves the pub/sub stream the agents listen on), two real agent processes probing the
// network lab with raw ICMP, and `ping-agent probe` as the reference for the figures.

const API_TOKEN = 'e2e-measure-token';
const OTHER_TOKEN = 'e2e-measure-token-2';
const READ_TOKEN = 'e2e-measure-read';
const RATE_PER_MINUTE = 40;
const cli = resolve(import.meta.dirname, '../../bin/ping-agent.js');
const keys = keySchema();

let lab: Lab;
let backend: TestBackend;
let api: WranglerDev;
let spool: string;
const agents = new Map<string, AgentProcess>();

function startAgent(name: string, token = backend.token): AgentProcess {
  const agent = AgentProcess.start({
    UPSTASH_REDIS_REST_URL: backend.gatewayUrl,
    UPSTASH_REDIS_REST_TOKEN: token,
    PING_AGENT_NAME: name,
    PING_AGENT_SPOOL_DIR: join(spool, name),
    PING_AGENT_HEARTBEAT_TTL_S: '30',
    PING_AGENT_REQUEST_TIMEOUT_MS: '2000',
  });
  agents.set(name, agent);
  return agent;
}

beforeAll(async () => {
  if (labMissing) return;
  lab = await createLab({ targets: 13 });
  backend = await startTestBackend();
  spool = await mkdtemp(join(tmpdir(), 'measure-e2e-'));
  api = await startWranglerDev({
    vars: {
      UPSTASH_REDIS_REST_URL: backend.gatewayUrl,
      UPSTASH_REDIS_REST_TOKEN: backend.token,
      API_TOKEN: `${API_TOKEN} ${OTHER_TOKEN}`,
      READ_TOKEN,
      MEASURE_ALLOW: '198.18.0.0/16',
      MEASURE_RATE_PER_MINUTE: String(RATE_PER_MINUTE),
    },
  });
  const started = [startAgent('m-one'), startAgent('m-two')];
  await Promise.all(
    started.map((a) =>
      a.waitFor('agent running', () => a.lines.some((l) => l.msg === 'agent running'), 30_000),
    ),
  );
}, 120_000);

afterAll(async () => {
  await Promise.all([...agents.values()].map((a) => a.stop('SIGKILL').catch(() => {})));
  await api?.stop();
  await lab?.close();
  await backend?.close();
  if (spool) await rm(spool, { recursive: true, force: true });
});

async function http(method: string, path: string, body?: unknown, token = API_TOKEN) {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  // biome-ignore lint/suspicious/noExplicitAny: answers are read field by field
  return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

/** Asks, then waits for the end with ?wait_s; answers the result and when it was done. */
async function measure(body: Record<string, unknown>) {
  const posted = Date.now();
  const accepted = await http('POST', '/v1/measurements', body);
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
  let result = await http('GET', `/v1/measurements/${accepted.body.id}?wait_s=10`, undefined, READ_TOKEN);
  while (!result.body.done && Date.now() - posted < 60_000) {
    result = await http('GET', `/v1/measurements/${accepted.body.id}?wait_s=10`, undefined, READ_TOKEN);
  }
  return { accepted: accepted.body, result: result.body, ms: Date.now() - posted };
}

function probeJson(args: string[]) {
  return new Promise<{ code: number; targets: Record<string, unknown>[] }>((done, fail) => {
    execFile(process.execPath, [cli, 'probe', '--json', ...args], { timeout: 30_000 }, (error, stdout) => {
      if (!stdout) return fail(error ?? new Error('probe printed nothing'));
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, ...JSON.parse(stdout) });
    });
  });
}

function measureCli(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    execFile(
      process.execPath,
      [cli, 'measure', ...args],
      {
        env: { ...process.env, PING_AGENT_API_URL: '', PING_AGENT_API_TOKEN: API_TOKEN, ...env },
        timeout: 60_000,
      },
      (error, stdout, stderr) =>
        done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The figures that do not depend on timing, as probe and measurements both report them. */
const stable = (t: Record<string, unknown>) => ({
  ip: t.ip,
  sent: t.sent,
  received: t.received,
  loss: t.loss,
  late: t.late,
  duplicates: t.duplicates,
  errors: t.errors,
  answered: t.rtt_ms !== null,
});

describeLab('on-demand measurements on wrangler dev with real agents in the network lab', () => {
  it('10 targets x 3 packets at 100 ms from two agents are finished and readable within 2 s of the POST', async () => {
    const targets = lab.targets.slice(0, 10);
    const body = { targets, agents: ['m-one', 'm-two'], count: 3, interval_ms: 100, timeout_ms: 500 };
    // Once to be sure both agents listen (their stream opens just after start), then timed.
    await measure(body);
    const timed: number[] = [];
    for (let i = 0; i < 3; i++) {
      const { accepted, result, ms } = await measure(body);
      timed.push(ms);
      expect(accepted).toMatchObject({ agents: ['m-one', 'm-two'], offline: [], targets: 10 });
      expect(result.done).toBe(true);
      for (const agent of result.agents) {
        expect(agent.state, JSON.stringify(agent)).toBe('finished');
        expect(agent.results.map((t: { ip: string }) => t.ip)).toEqual([...targets].sort());
        for (const t of agent.results) {
          expect(t).toMatchObject({ sent: 3, received: 3, loss: 0, late: 0, duplicates: 0 });
          expect(t.rtt_ms.avg).toBeGreaterThan(0);
        }
      }
    }
    console.log(`POST -> finished and read, ms: ${timed.join(', ')}`);
    expect(Math.max(...timed)).toBeLessThanOrEqual(2_000);
  }, 60_000);

  it('reports loss, unreachable and delay as ping-agent probe reports them', async () => {
    const [lossy, refused, fine] = [lab.targets[10]!, lab.targets[11]!, lab.targets[12]!];
    await lab.setLoss(lossy, 100);
    await lab.makeUnreachable(refused);
    const settings = ['-c', '3', '-p', '100', '-t', '500'];
    const { result } = await measure({
      targets: [lossy, refused, fine],
      agents: ['m-one'],
      count: 3,
      interval_ms: 100,
      timeout_ms: 500,
    });
    const probed = await probeJson([...settings, lossy, refused, fine]);
    const measured = result.agents[0].results;
    const byIp = (list: Record<string, unknown>[]) =>
      Object.fromEntries(list.map((t) => [String(t.ip), stable(t)]));
    expect(byIp(measured)).toEqual(byIp(probed.targets));
    expect(byIp(measured)[lossy]).toMatchObject({ sent: 3, received: 0, loss: 1, answered: false });
    expect(byIp(measured)[refused]).toMatchObject({
      received: 0,
      errors: { unreachable: expect.objectContaining({ count: 3 }), ttl_exceeded: null },
    });
    expect(byIp(measured)[fine]).toMatchObject({ received: 3, loss: 0 });

    await lab.setDelay(80);
    try {
      const delayed = await measure({ targets: [fine], agents: ['m-two'], count: 3, interval_ms: 100 });
      const figures = delayed.result.agents[0].results[0];
      expect(figures.received).toBe(3);
      expect(figures.rtt_ms.min).toBeGreaterThanOrEqual(80);
      expect(figures.rtt_ms.max).toBeLessThan(200);
    } finally {
      await lab.stopResponder();
    }
  }, 60_000);

  it('reports a named offline agent at once and never waits for it', async () => {
    await backend.redis.sadd(keys.agentList(), 'm-gone');
    const t0 = Date.now();
    const { accepted, result } = await measure({
      targets: [lab.targets[0]],
      agents: ['m-one', 'm-gone'],
      count: 1,
      timeout_ms: 300,
    });
    expect(accepted).toMatchObject({ agents: ['m-one'], offline: ['m-gone'] });
    expect(result.done).toBe(true);
    expect(result.agents.map((a: { name: string; state: string }) => [a.name, a.state])).toEqual([
      ['m-one', 'finished'],
      ['m-gone', 'offline'],
    ]);
    expect(Date.now() - t0).toBeLessThan(3_000);
    const any = await http('POST', '/v1/measurements', { targets: [lab.targets[0]], agents: { any: 5 } });
    expect(any.body.agents).toEqual(['m-one', 'm-two']);
  });

  it('answers every limit with its status on the Workers runtime', async () => {
    const post = (body: unknown, token = API_TOKEN) => http('POST', '/v1/measurements', body, token);
    const cases: [unknown, number, string][] = [
      [{ targets: [lab.targets[0]], count: 101 }, 422, 'validation'],
      [{ targets: ['198.18.0.0/22', '198.18.4.0/29'] }, 422, 'too_many_targets'],
      [{ targets: [lab.targets[0]], count: 100, interval_ms: 1000 }, 422, 'too_long'],
      [{ targets: ['224.0.0.1'] }, 422, 'invalid_ip'],
      [{ targets: ['255.255.255.255'] }, 422, 'invalid_ip'],
      [{ targets: ['0.0.0.0'] }, 422, 'invalid_ip'],
      [{ targets: ['127.0.0.1'] }, 422, 'invalid_ip'],
      [{ targets: ['10.0.0.1'] }, 422, 'target_not_allowed'],
      [{ targets: [lab.targets[0]], agents: ['m-nobody'] }, 404, 'not_found'],
    ];
    for (const [body, status, type] of cases) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.body.error.type, JSON.stringify(body)).toBe(type);
    }
    expect((await post({ targets: [lab.targets[0]] }, READ_TOKEN)).status).toBe(403);
    expect((await http('GET', '/v1/measurements/0123456789abcdefghij')).status).toBe(404);
    expect((await http('GET', '/v1/measurements/0123456789abcdefghij?wait_s=26')).status).toBe(400);
    // The rate: its own window per token; refused bodies count too.
    let limited: Awaited<ReturnType<typeof post>> | null = null;
    for (let i = 0; i <= RATE_PER_MINUTE && !limited; i++) {
      const res = await post({ targets: ['127.0.0.1'] }, OTHER_TOKEN);
      if (res.status === 429) limited = res;
      else expect(res.status).toBe(422);
    }
    expect(limited?.body.error.type).toBe('rate_limited');
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('ping-agent measure prints a line per (agent, target) and exits 0 within the limits, 1 not, 2 without an answer', async () => {
    const [lossy, fine] = [lab.targets[10]!, lab.targets[3]!];
    await lab.setLoss(lossy, 100);
    const base = ['--url', api.url, '-c', '2', '-p', '100', '-t', '400'];
    const ok = await measureCli([...base, '--agents', 'm-one,m-two', fine]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      new RegExp(`^m-one ${fine.replaceAll('.', '\\.')} : xmt/rcv/%loss = 2/2/0%, min/avg/max = `, 'm'),
    );
    expect(ok.stdout.trim().split('\n')).toHaveLength(2);

    const lost = await measureCli([...base, '--any', '1', lossy, fine]);
    expect(lost.code).toBe(1);
    expect(lost.stdout).toContain(`${lossy} : xmt/rcv/%loss = 2/0/100%  FAILING (loss)`);
    expect((await measureCli([...base, '--any', '1', '--max-loss', '1', lossy])).code).toBe(0);
    expect((await measureCli([...base, '--agents', 'm-one', '--max-rtt-ms', '0.001', fine])).code).toBe(1);
    const json = await measureCli([...base, '--agents', 'm-two', '--json', fine]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      done: true,
      agents: [{ name: 'm-two', state: 'finished' }],
    });

    const noToken = await measureCli(['--url', api.url, fine], { PING_AGENT_API_TOKEN: '' });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('no token; pass --token or set PING_AGENT_API_TOKEN');
    const cases: [string[], string][] = [
      [['--url', api.url], 'no targets'],
      [[...base, '--agents', 'a', '--any', '1', fine], '--agents or --any, not both'],
      [[...base, '-c', '101', fine], '-c/--count must be from 1 to 100'],
      [[...base, '127.0.0.1'], 'the API answered 422'],
      [[...base, '--agents', 'm-gone', fine], 'no agent measured: m-gone offline'],
      [['--url', 'http://127.0.0.1:9', fine], 'cannot reach the API'],
    ];
    for (const [args, message] of cases) {
      const res = await measureCli(args);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toContain(message);
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
    }
  }, 60_000);

  it('is run by an agent holding only its own scoped Redis credential', async () => {
    const admin = new Redis({
      url: backend.gatewayUrl,
      token: backend.token,
      automaticDeserialization: false,
      retry: false,
      enableTelemetry: false,
    });
    const { token } = await credentialStore({ redis: admin, keys }).issue('m-scoped');
    const scoped = startAgent('m-scoped', token);
    await scoped.waitFor('agent running', () => scoped.lines.some((l) => l.msg === 'agent running'), 30_000);
    // Its stream opens just after it starts: an announcement made before it listens is caught up
    // when it does (one ZRANGE its credential allows), so one request is enough.
    const { result } = await measure({
      targets: [lab.targets[4]],
      agents: ['m-scoped'],
      count: 2,
      interval_ms: 100,
    });
    expect(result?.agents[0]).toMatchObject({ state: 'finished', results: [{ sent: 2, received: 2 }] });
    expect(scoped.lines.filter((l) => /REFUSED|NOPERM/i.test(JSON.stringify(l)))).toEqual([]);
    await scoped.stop();
  }, 90_000);

  it('does not hang a measurement whose agent is restarted mid-way', async () => {
    const accepted = await http('POST', '/v1/measurements', {
      targets: [lab.targets[0]],
      agents: ['m-two'],
      count: 50,
      interval_ms: 200,
      timeout_ms: 500,
    });
    expect(accepted.status).toBe(202);
    const id = accepted.body.id;
    const readState = async () =>
      (await http('GET', `/v1/measurements/${id}`, undefined, READ_TOKEN)).body.agents[0].state;
    const until = Date.now() + 5_000;
    while ((await readState()) !== 'running' && Date.now() < until)
      await new Promise((r) => setTimeout(r, 100));
    expect(await readState()).toBe('running');
    await agents.get('m-two')!.stop('SIGKILL');
    const again = startAgent('m-two');
    await again.waitFor('agent running', () => again.lines.some((l) => l.msg === 'agent running'), 30_000);
    const t0 = Date.now();
    const result = await http('GET', `/v1/measurements/${id}?wait_s=20`, undefined, READ_TOKEN);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(result.body.done).toBe(true);
    expect(result.body.agents[0]).toMatchObject({
      state: 'failed',
      error: 'the agent restarted before it finished',
      results: null,
    });
    // The new process measures as before.
    const next = await measure({ targets: [lab.targets[0]], agents: ['m-two'], count: 1, timeout_ms: 300 });
    expect(next.result.agents[0].state).toBe('finished');
  }, 90_000);
});
