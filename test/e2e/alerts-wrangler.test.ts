import { createServer, type IncomingMessage, type Server } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keySchema } from '../../shared/keys.ts';
import { buildSummary } from '../../shared/summary/build-summary.ts';
import { startTestBackend, type TestBackend } from '../support/backend.ts';
import { freePort } from '../support/redis-server.ts';
import { startWranglerDev, type WranglerDev } from './wrangler-dev.ts';

// Alerts as deployed: the Worker on `wrangler dev` (the real Workers runtime) with its scheduled
// handler driven through wrangler's test route, a real redis-server behind the gateway, and real
// HTTP receivers on this host. The agent's writes (heartbeat, statuses, its summary of the group)
// are made here, as the agent makes them, so the test can switch a group between losing and clean.

const API_TOKEN = 'alerts-e2e-token';
const keys = keySchema();
const IPS = ['198.18.0.1', '198.18.0.2'];

interface Received {
  headers: Record<string, string>;
  body: string;
}

let backend: TestBackend;
let api: WranglerDev;
let hook: Receiver;
let latePort: number;
let late: Receiver | null = null;
/**
 * Holds the late receiver's port while it is down, resetting every connection: a port merely found
 * free could be taken by another test's server meanwhile, which would then answer the deliveries.
 */
let downHolder: TcpServer | null = null;

class Receiver {
  received: Received[] = [];
  private constructor(
    private server: Server,
    readonly port: number,
  ) {}

  static async start(port = 0): Promise<Receiver> {
    const received: Received[] = [];
    const server = createServer(async (req: IncomingMessage, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      received.push({ headers: req.headers as Record<string, string>, body });
      res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const receiver = new Receiver(server, (server.address() as AddressInfo).port);
    receiver.received = received;
    return receiver;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

beforeAll(async () => {
  backend = await startTestBackend();
  hook = await Receiver.start();
  latePort = await freePort();
  downHolder = createTcpServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => downHolder!.listen(latePort, '127.0.0.1', resolve));
  api = await startWranglerDev({
    vars: {
      UPSTASH_REDIS_REST_URL: backend.gatewayUrl,
      UPSTASH_REDIS_REST_TOKEN: backend.token,
      API_TOKEN,
      ALERT_ALLOW_LOCAL: 'true',
      ALERT_RETRY_BASE_S: '1',
    },
    testScheduled: true,
  });
}, 90_000);

afterAll(async () => {
  await api?.stop();
  await hook?.close();
  await late?.close();
  await new Promise<void>((resolve) => (downHolder ? downHolder.close(() => resolve()) : resolve()));
  await backend?.close();
});

async function http(method: string, path: string, body?: unknown) {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${API_TOKEN}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  // biome-ignore lint/suspicious/noExplicitAny: answers are read field by field
  return { status: res.status, body: (await res.json()) as any };
}

/** One run of the scheduled handler, as the Cron Trigger would start it. */
async function tick(): Promise<void> {
  const res = await fetch(`${api.url}/__scheduled?cron=*+*+*+*+*`);
  const text = await res.text();
  expect(res.status, `${text}\n${api.output()}`).toBe(200);
}

/** What edge-1 writes after a run: its heartbeat, a status per IP and its summary of dc1. */
async function agentRun(lossy: boolean): Promise<void> {
  const now = Date.now();
  const statuses = IPS.map((ip, i) => ({
    ip,
    send_count: 10,
    return_count: lossy && i === 0 ? 4 : 10,
    err: lossy && i === 0 ? 'timeout' : null,
    rtt_avg_ms: 2 + i,
    updated_at: new Date(now).toISOString(),
  }));
  const summary = buildSummary({
    members: IPS,
    statusOf: (ip) => statuses.find((s) => s.ip === ip),
    computedAtMs: now,
  });
  const beat = {
    version: '0',
    hostname: 'edge-1',
    pid: 1,
    started_at: new Date(now).toISOString(),
    jobs: ['core'],
  };
  const p = backend.redis.pipeline();
  p.sadd(keys.agentList(), 'edge-1');
  p.set(keys.agentOnline('edge-1'), JSON.stringify(beat), { ex: 300 });
  for (const s of statuses) p.set(keys.ipStatus('edge-1', s.ip), JSON.stringify(s));
  p.set(keys.groupSummary('edge-1', 'dc1'), JSON.stringify(summary));
  await p.exec();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('alerts through wrangler dev', () => {
  let secret: string;

  it('refuses bad rules and notifier URLs with 422', async () => {
    expect((await http('PUT', '/v1/notifiers/bad', { type: 'slack', url: 'ftp://127.0.0.1/x' })).status).toBe(
      422,
    );
    expect((await http('PUT', '/v1/alerts/bad', { group: 'dc1', max_loss: 5, notify: ['x'] })).status).toBe(
      422,
    );
    expect((await http('PUT', '/v1/alerts/bad', { group: 'dc1', max_loss: 0.1, notify: ['x'] })).status).toBe(
      422,
    );
  });

  it('sets up a group probed by one agent, a signed webhook, a receiver that is down, and a rule', async () => {
    expect((await http('PUT', '/v1/groups/dc1', { ips: IPS })).status).toBe(200);
    expect(
      (await http('PUT', '/v1/agents/edge-1/jobs/core', { spec: '*/10 * * * * *', groups: ['dc1'] })).status,
    ).toBe(200);
    await agentRun(false);
    const made = await http('PUT', '/v1/notifiers/hook', {
      type: 'webhook',
      url: `http://127.0.0.1:${hook.port}/in`,
    });
    expect(made.status).toBe(200);
    secret = made.body.secret;
    expect(secret).toMatch(/^whsec_/);
    const down = await http('PUT', '/v1/notifiers/late', {
      type: 'webhook',
      url: `http://127.0.0.1:${latePort}/in`,
      secret,
    });
    expect(down.status).toBe(200);
    const rule = await http('PUT', '/v1/alerts/dc1-loss', {
      group: 'dc1',
      max_loss: 0.1,
      for_s: 8,
      notify: ['hook', 'late'],
    });
    expect(rule.status).toBe(200);
  });

  it('stays ok while the group is clean', async () => {
    await tick();
    expect((await http('GET', '/v1/alerts/dc1-loss')).body.state.phase).toBe('ok');
    expect(hook.received).toHaveLength(0);
  });

  it('is pending, not firing, before for_s of failure', async () => {
    await agentRun(true);
    await tick();
    await tick();
    const rule = (await http('GET', '/v1/alerts/dc1-loss')).body;
    expect(rule.state).toMatchObject({ phase: 'pending', failing_count: 1 });
    expect(hook.received).toHaveLength(0);
  });

  it('fires once after for_s, however many evaluations race to see it', async () => {
    await sleep(8_200);
    await agentRun(true);
    // Two invocations at once, and more after: one transition, one notification.
    await Promise.all([tick(), tick()]);
    await Promise.all([tick(), tick()]);
    expect(hook.received).toHaveLength(1);
    const rule = (await http('GET', '/v1/alerts/dc1-loss')).body;
    expect(rule.state.phase).toBe('firing');

    const [delivery] = hook.received;
    const event = new Webhook(secret).verify(delivery!.body, delivery!.headers) as {
      type: string;
      data: { rule: string; group: string; failing_count: number; worst: { ip: string; loss: number }[] };
    };
    expect(event.type).toBe('alert.firing');
    expect(event.data).toMatchObject({ rule: 'dc1-loss', group: 'dc1', failing_count: 1 });
    expect(event.data.worst[0]).toMatchObject({ ip: '198.18.0.1', loss: 0.6 });
  });

  it('lets the receiver detect a wrong or missing signature with the official library', async () => {
    const { headers, body } = hook.received[0]!;
    const wh = new Webhook(secret);
    expect(() => wh.verify(body.replace('dc1-loss', 'dc2-loss'), headers)).toThrow();
    expect(() =>
      wh.verify(body, { ...headers, 'webhook-signature': `v1,${btoa('x'.repeat(32))}` }),
    ).toThrow();
    const { 'webhook-signature': _dropped, ...unsigned } = headers;
    expect(() => wh.verify(body, unsigned)).toThrow();
    expect(() => new Webhook(`whsec_${btoa('another key, 24 bytes!!!')}`).verify(body, headers)).toThrow();
  });

  it('retries a receiver that is down, and logs every attempt with one webhook-id', async () => {
    const before = (await http('GET', '/v1/alerts/dc1-loss/deliveries')).body.deliveries as {
      notifier: string;
      outcome: string;
      attempt: number;
      delivery_id: string;
      error: string | null;
    }[];
    const failed = before.filter((l) => l.notifier === 'late');
    // Three attempts within the first invocation (1 s and 2 s apart), all refused.
    expect(failed.map((l) => l.outcome)).toEqual(['retrying', 'retrying', 'retrying']);
    expect(failed.map((l) => l.error?.slice(0, 17))).toEqual(Array(3).fill('could not connect'));
    await new Promise<void>((resolve) => downHolder!.close(() => resolve()));
    downHolder = null;
    late = await Receiver.start(latePort);
    await sleep(1_200);
    await tick();
    expect(late.received).toHaveLength(1);
    const log = (await http('GET', '/v1/alerts/dc1-loss/deliveries')).body.deliveries as typeof before;
    const lateLog = log.filter((l) => l.notifier === 'late');
    expect(lateLog[0]).toMatchObject({ outcome: 'delivered', attempt: 4, status: 204 });
    expect(new Set(lateLog.map((l) => l.delivery_id)).size).toBe(1);
    expect(late.received[0]!.headers['webhook-id']).toBe(lateLog[0]!.delivery_id);
    expect(new Webhook(secret).verify(late.received[0]!.body, late.received[0]!.headers)).toMatchObject({
      type: 'alert.firing',
    });
    expect(log.find((l) => l.notifier === 'hook')).toMatchObject({ outcome: 'delivered', attempt: 1 });
  });

  it('resolves once after recovery', async () => {
    await agentRun(false);
    await Promise.all([tick(), tick()]);
    await tick();
    expect(hook.received).toHaveLength(2);
    const resolved = new Webhook(secret).verify(hook.received[1]!.body, hook.received[1]!.headers) as {
      type: string;
    };
    expect(resolved.type).toBe('alert.resolved');
    expect(hook.received[1]!.headers['webhook-id']).not.toBe(hook.received[0]!.headers['webhook-id']);
    expect((await http('GET', '/v1/alerts/dc1-loss')).body.state.phase).toBe('resolved');
    await tick();
    expect(hook.received).toHaveLength(2);
    expect(late!.received).toHaveLength(2);
  });
});

describe('an agent_offline rule through wrangler dev', () => {
  // Its own agent, receiver and rule, so the group rule's receivers above count only their own.
  let pager: Receiver;
  let secret: string;

  /** edge-2's heartbeat, as the agent writes it: a key whose expiry means offline. */
  async function heartbeat(ttlMs: number): Promise<void> {
    const beat = { version: '0', hostname: 'edge-2', pid: 2, started_at: new Date().toISOString(), jobs: [] };
    await backend.redis.sadd(keys.agentList(), 'edge-2');
    await backend.redis.set(keys.agentOnline('edge-2'), JSON.stringify(beat), { px: ttlMs });
  }

  beforeAll(async () => {
    pager = await Receiver.start();
  });

  afterAll(async () => {
    await pager?.close();
  });

  it('stays ok while the heartbeat lasts', async () => {
    await heartbeat(300_000);
    const made = await http('PUT', '/v1/notifiers/pager', {
      type: 'webhook',
      url: `http://127.0.0.1:${pager.port}/in`,
    });
    expect(made.status).toBe(200);
    secret = made.body.secret;
    const rule = await http('PUT', '/v1/alerts/edge-2-offline', {
      type: 'agent_offline',
      agents: ['edge-2'],
      for_s: 8,
      notify: ['pager'],
    });
    expect(rule.status).toBe(200);
    await tick();
    expect((await http('GET', '/v1/alerts/edge-2-offline')).body.state).toMatchObject({ phase: 'ok' });
    expect(pager.received).toHaveLength(0);
  });

  it('is pending, not firing, as soon as the heartbeat expires', async () => {
    // Cut short only now, so a slow first step cannot see it expire early.
    await backend.redis.pexpire(keys.agentOnline('edge-2'), 300);
    for (let i = 0; i < 50 && (await backend.redis.exists(keys.agentOnline('edge-2'))) === 1; i++) {
      await sleep(100);
    }
    expect(await backend.redis.exists(keys.agentOnline('edge-2'))).toBe(0);
    await Promise.all([tick(), tick()]);
    await tick();
    const rule = (await http('GET', '/v1/alerts/edge-2-offline')).body;
    expect(rule.state).toMatchObject({ phase: 'pending', failing_count: 1 });
    expect(pager.received).toHaveLength(0);
  });

  it('fires one notification after for_s offline, however many evaluations see it', async () => {
    await sleep(8_200);
    await Promise.all([tick(), tick()]);
    await tick();
    expect(pager.received).toHaveLength(1);
    expect((await http('GET', '/v1/alerts/edge-2-offline')).body.state.phase).toBe('firing');
    const event = new Webhook(secret).verify(pager.received[0]!.body, pager.received[0]!.headers) as {
      type: string;
      data: {
        rule: string;
        rule_type: string;
        group: null;
        failing_count: number;
        worst: { agent: string }[];
      };
    };
    expect(event.type).toBe('alert.firing');
    expect(event.data).toMatchObject({
      rule: 'edge-2-offline',
      rule_type: 'agent_offline',
      group: null,
      failing_count: 1,
    });
    expect(event.data.worst).toEqual([expect.objectContaining({ agent: 'edge-2', reason: 'offline' })]);
    await tick();
    expect(pager.received).toHaveLength(1);
  });

  it('resolves once when the heartbeat returns', async () => {
    await heartbeat(300_000);
    await Promise.all([tick(), tick()]);
    await tick();
    expect(pager.received).toHaveLength(2);
    const resolved = new Webhook(secret).verify(pager.received[1]!.body, pager.received[1]!.headers) as {
      type: string;
      data: { rule: string };
    };
    expect(resolved).toMatchObject({ type: 'alert.resolved', data: { rule: 'edge-2-offline' } });
    expect(pager.received[1]!.headers['webhook-id']).not.toBe(pager.received[0]!.headers['webhook-id']);
    expect((await http('GET', '/v1/alerts/edge-2-offline')).body.state.phase).toBe('resolved');
    const log = (await http('GET', '/v1/alerts/edge-2-offline/deliveries')).body.deliveries;
    expect(log.map((l: { event: string; outcome: string }) => `${l.event} ${l.outcome}`)).toEqual([
      'alert.resolved delivered',
      'alert.firing delivered',
    ]);
    await tick();
    expect(pager.received).toHaveLength(2);
  });
});
