import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Gateway, startGateway } from '../../gateway/start-gateway.ts';
import { keySchema } from '../../shared/keys.ts';
import { ipStatusSchema } from '../../shared/schema.ts';
import { startTestBackend, type TestBackend } from '../../test/support/backend.ts';
import { AgentProcess } from './testing/agent-process.ts';

// `ping-agent run` end to end: the real CLI as a child process, real ICMP on loopback (the kernel
// answers every 127.0.0.0/8 address), loss injected by an nftables table of the test's own that
// drops echo requests to one loopback address, and real redis-server behind a gateway this file
// stops and starts to play an outage. Jobs and groups are written with plain Redis commands, as an
// external tool would.

const canRun = process.getuid?.() === 0;
if (!canRun && process.env.CI === 'true') {
  throw new Error('the agent end-to-end tests need root (raw ICMP sockets and nftables) in CI');
}

const keys = keySchema();
const token = 'e2e-token';
let backend: TestBackend;
let gateway: Gateway;
let gatewayPort = 0;
let spoolRoot: string;
const nftTable = `ping_agent_e2e_${process.pid}`;
const agents: AgentProcess[] = [];

beforeAll(async () => {
  if (!canRun) return;
  backend = await startTestBackend();
  gateway = await startGateway({ redisUrl: backend.redisUrl, token, port: 0 });
  gatewayPort = gateway.port;
  spoolRoot = await mkdtemp(join(tmpdir(), 'agent-e2e-'));
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop('SIGKILL').catch(() => {})));
  dropLoss();
  await gateway?.close();
  await backend?.close();
  if (spoolRoot) await rm(spoolRoot, { recursive: true, force: true });
});

function startAgent(name: string, extra: Record<string, string> = {}): AgentProcess {
  const agent = AgentProcess.start({
    UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${gatewayPort}`,
    UPSTASH_REDIS_REST_TOKEN: token,
    PING_AGENT_NAME: name,
    PING_AGENT_SPOOL_DIR: join(spoolRoot, name),
    PING_AGENT_HEARTBEAT_TTL_S: '5',
    PING_AGENT_CONFIG_POLL_MS: '300',
    PING_AGENT_RESYNC_S: '3',
    PING_AGENT_CLEAN_WINDOW_S: '3',
    PING_AGENT_ERR_SPEC: '*/1 * * * * *',
    PING_AGENT_REQUEST_TIMEOUT_MS: '1000',
    PING_AGENT_RATE_PPS: '500',
    ...extra,
  });
  agents.push(agent);
  return agent;
}

/** What an external tool would do: plain SADD/SET with the seed's keys. */
async function seedJob(
  agent: string,
  job: string,
  spec: string,
  groups: Record<string, string[]>,
  bump = true,
) {
  const p = backend.redis.pipeline();
  for (const [group, ips] of Object.entries(groups)) {
    p.del(keys.group(group));
    p.sadd(keys.group(group), ips[0]!, ...ips.slice(1));
    p.sadd(keys.groupsList(), group);
  }
  p.set(
    keys.agentJob(agent, job),
    JSON.stringify({ SPEC: spec, name: job, group: Object.keys(groups), timeout_ms: 400 }),
  );
  p.sadd(keys.agentJobs(agent), job);
  if (bump) p.incr(keys.configVersion());
  await p.exec();
}

async function status(agent: string, ip: string) {
  const raw = await backend.redis.get<string>(keys.ipStatus(agent, ip));
  return raw === null ? null : ipStatusSchema.parse(JSON.parse(raw));
}

const sum = (lines: { [k: string]: unknown }[], field: string) =>
  lines.reduce((s, l) => s + Number(l[field] ?? 0), 0);

function injectLoss(ip: string): void {
  execFileSync('nft', ['-f', '-'], {
    input: `table ip ${nftTable} {\n chain input {\n  type filter hook input priority -10; policy accept;\n  ip daddr ${ip} icmp type echo-request drop\n }\n}\n`,
  });
}

function dropLoss(): void {
  try {
    execFileSync('nft', ['delete', 'table', 'ip', nftTable], { stdio: 'ignore' });
  } catch {
    // Not there: nothing to remove.
  }
}

describe.skipIf(!canRun)('ping-agent run', () => {
  it('probes a job written straight into Redis, counts exactly, and continues the counts after SIGTERM and restart', async () => {
    const name = 'e2e-counts';
    const ip = '127.0.0.1';
    await seedJob(name, 'core', '*/1 * * * * *', { 'e2e-loop': [ip] });
    const first = startAgent(name);
    await first.waitFor('3 runs', () => first.runs('core').length >= 3, 20_000);
    const heartbeat = JSON.parse((await backend.redis.get<string>(keys.agentOnline(name)))!);
    expect(heartbeat).toMatchObject({ pid: first.child.pid, jobs: ['core'] });
    expect(await backend.redis.sismember(keys.agentList(), name)).toBe(1);

    const stopped = await first.stop('SIGTERM');
    expect(stopped.code).toBe(0);
    expect(stopped.ms).toBeLessThan(5_000);
    expect(await backend.redis.get(keys.agentOnline(name))).toBeNull();
    const runs = first.runs('core');
    const after = await status(name, ip);
    expect(after).toMatchObject({
      ip,
      send_count: sum(runs, 'sent'),
      return_count: sum(runs, 'received'),
      err: null,
    });
    expect(after!.send_count).toBe(runs.length);
    expect(await backend.redis.ttl(keys.ipStatus(name, ip))).toBeGreaterThan(0);

    const second = startAgent(name);
    await second.waitFor('2 runs', () => second.runs('core').length >= 2, 20_000);
    expect((await second.stop('SIGINT')).code).toBe(0);
    const total = sum(runs, 'sent') + sum(second.runs('core'), 'sent');
    expect(await status(name, ip)).toMatchObject({ send_count: total, return_count: total });
    // History: the buckets of both processes together hold every probe.
    const minutes = await backend.redis.zrange<string[]>(keys.ipMinutes(name, ip), 0, -1);
    expect(minutes.map((m) => JSON.parse(m).sent as number).reduce((a, b) => a + b, 0)).toBe(total);
  });

  it('puts a target losing probes on the err list within one run, and takes it off after the clean window', async () => {
    const name = 'e2e-errlist';
    const ip = '127.0.77.7';
    await seedJob(name, 'lossy', '*/1 * * * * *', { 'e2e-lossy': [ip] });
    injectLoss(ip);
    const agent = startAgent(name);
    try {
      await agent.waitFor(
        'a lossy run',
        () => agent.runs('lossy').some((r) => Number(r.received) < Number(r.sent)),
        20_000,
      );
      const firstLossy = agent.runs('lossy').find((r) => Number(r.received) < Number(r.sent))!;
      expect(firstLossy.errAdded).toBe(1);
      expect(await backend.redis.smembers(keys.agentErrList(name))).toEqual([ip]);
      expect((await status(name, ip))?.err).toBe('timeout');

      dropLoss();
      const healed = Date.now();
      await agent.waitFor(
        'leaving the err list',
        () => agent.runs().some((r) => Number(r.errRemoved) > 0),
        20_000,
      );
      // The clean window is 3 s, and 5 answers are needed: not before.
      expect(Date.now() - healed).toBeGreaterThanOrEqual(3_000);
      expect(await backend.redis.smembers(keys.agentErrList(name))).toEqual([]);
      // The err-list job probed it at its own cadence meanwhile.
      expect(agent.runs('err-list').length).toBeGreaterThan(0);
    } finally {
      dropLoss();
      await agent.stop();
    }
  });

  it("follows a job's SPEC and group changes without a restart, bumped or not", async () => {
    const name = 'e2e-follow';
    await seedJob(name, 'moving', '*/1 * * * * *', { 'e2e-a': ['127.0.1.1'] });
    const agent = startAgent(name);
    try {
      await agent.waitFor('a run on group a', () => agent.runs('moving').length >= 1, 20_000);
      await seedJob(name, 'moving', '*/2 * * * * *', { 'e2e-b': ['127.0.1.2', '127.0.1.3'] });
      await agent.waitFor(
        'the bumped change',
        () => agent.runs('moving').some((r) => r.targets === 2),
        10_000,
      );
      const reconciled = agent.lines.filter((l) => l.msg === 'jobs reconciled');
      expect(reconciled.at(-1)).toMatchObject({ reason: 'config-version', changed: ['moving'] });
      expect(await status(name, '127.0.1.2')).not.toBeNull();

      // A hand edit with no version bump is still picked up by the periodic re-read.
      await seedJob(name, 'moving', '*/1 * * * * *', { 'e2e-c': ['127.0.1.4'] }, false);
      await agent.waitFor(
        'the unbumped change',
        () =>
          agent
            .runs('moving')
            .some((r) => r.targets === 1 && agent.lines.some((l) => l.reason === 'periodic')),
        15_000,
      );

      // A bad SPEC is reported and the job keeps running as before.
      await backend.redis.set(
        keys.agentJob(name, 'moving'),
        JSON.stringify({ SPEC: 'every now and then', name: 'moving', group: ['e2e-c'] }),
      );
      await backend.redis.incr(keys.configVersion());
      await agent.waitFor(
        'the skip report',
        () => agent.lines.some((l) => l.msg === 'job skipped' && l.job === 'moving'),
        10_000,
      );
      const before = agent.runs('moving').length;
      await agent.waitFor('runs going on', () => agent.runs('moving').length >= before + 2, 10_000);
    } finally {
      await agent.stop();
    }
  });

  it('loses and doubles nothing while the gateway is down', async () => {
    const name = 'e2e-outage';
    const ip = '127.0.2.1';
    await seedJob(name, 'steady', '*/1 * * * * *', { 'e2e-steady': [ip] });
    const agent = startAgent(name);
    try {
      await agent.waitFor('2 runs', () => agent.runs('steady').length >= 2, 20_000);
      await gateway.close();
      const runsBefore = agent.runs('steady').length;
      // 7 s is seven runs with nothing written: every one of them must reach Redis later, in order.
      await new Promise((r) => setTimeout(r, 7_000));
      expect(agent.runs('steady').length).toBeGreaterThanOrEqual(runsBefore + 5);
      expect(agent.runs('steady').at(-1)!.spooled).toBeGreaterThan(0);
      gateway = await startGateway({ redisUrl: backend.redisUrl, token, port: gatewayPort });
      await agent.waitFor(
        'the spool replayed',
        () => agent.lines.some((l) => l.msg === 'spool replayed; results are live again'),
        40_000,
      );
    } finally {
      expect((await agent.stop()).code).toBe(0);
    }
    const runs = agent.runs('steady');
    expect(await status(name, ip)).toMatchObject({
      send_count: sum(runs, 'sent'),
      return_count: sum(runs, 'received'),
    });
  });

  it('stops with exit code 2 and one line naming a bad setting', async () => {
    const agent = startAgent('e2e-bad', { PING_AGENT_CLEAN_WINDOW_S: 'soon' });
    expect(await agent.wait()).toBe(2);
    expect(agent.stderr.trim()).toBe(
      'ping-agent run: PING_AGENT_CLEAN_WINDOW_S is "soon"; set it to a whole number from 1 to 86400 (default 60)',
    );
  });
});
