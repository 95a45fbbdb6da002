import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Gateway, startGateway } from '../../gateway/start-gateway.ts';
import { keySchema } from '../../shared/keys.ts';
import { ipStatusSchema } from '../../shared/schema.ts';
import { createStore } from '../../shared/store.ts';
import { createLab, type Lab } from '../../test/lab/lab.ts';
import { describeLab, labMissing } from '../../test/lab/require-lab.ts';
import { startTestBackend, type TestBackend } from '../../test/support/backend.ts';
import { AgentProcess } from './testing/agent-process.ts';

// `ping-agent run` end to end: the real CLI as a child process, real ICMP to the network lab's
// namespace (loss and unreachable injected there with nftables), and real redis-server behind a
// gateway this file stops and starts to play an outage. Jobs and groups are written with plain
// Redis commands, as an external tool would. Short SPECs, windows and TTLs keep it to seconds.

const keys = keySchema();
const token = 'e2e-token';
let backend: TestBackend;
let gateway: Gateway;
let gatewayPort = 0;
let spoolRoot: string;
let lab: Lab;
const agents: AgentProcess[] = [];

beforeAll(async () => {
  if (labMissing) return;
  lab = await createLab({ targets: 8, ipv6: true, targets6: 1 });
  backend = await startTestBackend();
  gateway = await startGateway({ redisUrl: backend.redisUrl, token, port: 0 });
  gatewayPort = gateway.port;
  spoolRoot = await mkdtemp(join(tmpdir(), 'agent-e2e-'));
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop('SIGKILL').catch(() => {})));
  await lab?.close();
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
    PING_AGENT_HEARTBEAT_TTL_S: '30',
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

async function historyOf(agent: string, ip: string) {
  const now = Math.floor(Date.now() / 1000);
  return createStore(backend.redis).history.range(agent, ip, 'minute', now - 3600, now);
}

const sum = (lines: { [k: string]: unknown }[], field: string) =>
  lines.reduce((s, l) => s + Number(l[field] ?? 0), 0);

describeLab('ping-agent run', () => {
  it('probes a job written straight into Redis, counts exactly, and continues the counts after SIGTERM and restart', async () => {
    const name = 'e2e-counts';
    const ip = lab.targets[0]!;
    const ip6 = lab.targets6[0]!;
    await seedJob(name, 'core', '*/1 * * * * *', { 'e2e-v4': [ip], 'e2e-v6': [ip6] });
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
    // Two targets, one probe each per run, every probe answered.
    expect(sum(runs, 'sent')).toBe(runs.length * 2);
    expect(sum(runs, 'received')).toBe(runs.length * 2);
    expect(await status(name, ip)).toMatchObject({
      ip,
      send_count: runs.length,
      return_count: runs.length,
      err: null,
    });
    expect(await status(name, ip6)).toMatchObject({
      ip: ip6,
      send_count: runs.length,
      return_count: runs.length,
    });
    // No expiry: a status leaves by an explicit DEL once no job probes its IP.
    expect(await backend.redis.ttl(keys.ipStatus(name, ip))).toBe(-1);

    const second = startAgent(name);
    await second.waitFor('2 runs', () => second.runs('core').length >= 2, 20_000);
    expect((await second.stop('SIGINT')).code).toBe(0);
    const total = runs.length + second.runs('core').length;
    expect(await status(name, ip)).toMatchObject({ send_count: total, return_count: total });
    // History: the minute points of both processes together hold every probe.
    const minutes = await historyOf(name, ip);
    expect(minutes.reduce((s, p) => s + p.sent, 0)).toBe(total);
  });

  it('puts a target losing probes on the err list within one run, and takes it off after the clean window', async () => {
    const name = 'e2e-errlist';
    const [lossy, refused, fine] = [lab.targets[1]!, lab.targets[2]!, lab.targets[3]!];
    await seedJob(name, 'lossy', '*/1 * * * * *', { 'e2e-lossy': [lossy, refused, fine] });
    const agent = startAgent(name);
    try {
      await agent.waitFor('a clean run', () => agent.runs('lossy').some((r) => r.received === 3), 20_000);
      await lab.setLoss(lossy, 100);
      await lab.makeUnreachable(refused);
      const injected = agent.runs('lossy').length;
      await agent.waitFor('two more runs', () => agent.runs('lossy').length >= injected + 2, 20_000);
      // By the end of the first run that started after the injection, both are listed.
      expect(agent.runs('lossy')[injected + 1]).toMatchObject({ sent: 3, received: 1 });
      // (The run in flight at the injection may have been the one to list them.)
      expect(sum(agent.runs('lossy').slice(injected, injected + 2), 'errAdded')).toBe(2);
      expect((await backend.redis.smembers(keys.agentErrList(name))).sort()).toEqual([lossy, refused].sort());
      expect((await status(name, lossy))?.err).toBe('timeout');
      expect((await status(name, refused))?.err).toMatch(/^unreachable \(code 1\) from /);
      expect((await status(name, fine))?.err).toBeNull();

      await lab.clearLoss();
      const healed = Date.now();
      await agent.waitFor(
        'leaving the err list',
        () => agent.runs().some((r) => Number(r.errRemoved) > 0),
        20_000,
      );
      // The clean window is 3 s, and 5 answers are needed: not before.
      expect(Date.now() - healed).toBeGreaterThanOrEqual(3_000);
      expect(await backend.redis.smembers(keys.agentErrList(name))).toEqual([refused]);
      // The err-list job probed the listed IPs at its own cadence meanwhile.
      expect(agent.runs('err-list').some((r) => r.targets === 2)).toBe(true);

      // Taken out of the group while still failing: no job probes it, so it leaves the list, and
      // its status and history are deleted (a status never probed again must not look fresh).
      const lossyRuns = agent.runs('lossy').length;
      await seedJob(name, 'lossy', '*/1 * * * * *', { 'e2e-lossy': [lossy, fine] });
      await agent.waitFor(
        'the unprobed IP leaving the err list',
        () =>
          agent
            .runs('lossy')
            .slice(lossyRuns)
            .some((r) => Number(r.errRemoved) > 0),
        10_000,
      );
      expect(await backend.redis.smembers(keys.agentErrList(name))).toEqual([]);
      expect(await status(name, refused)).toBeNull();
      expect(await status(name, fine)).not.toBeNull();
    } finally {
      await lab.clearLoss();
      await agent.stop();
    }
  });

  it("follows a job's SPEC and group changes without a restart, bumped or not", async () => {
    const name = 'e2e-follow';
    await seedJob(name, 'moving', '*/1 * * * * *', { 'e2e-a': [lab.targets[4]!] });
    const agent = startAgent(name);
    try {
      await agent.waitFor('a run on group a', () => agent.runs('moving').length >= 1, 20_000);
      await seedJob(name, 'moving', '*/2 * * * * *', { 'e2e-b': [lab.targets[5]!, lab.targets[6]!] });
      await agent.waitFor(
        'the bumped change',
        () => agent.runs('moving').some((r) => r.targets === 2),
        10_000,
      );
      const reconciled = agent.lines.filter((l) => l.msg === 'jobs reconciled');
      expect(reconciled.at(-1)).toMatchObject({ reason: 'config-version', changed: ['moving'] });
      expect(await status(name, lab.targets[5]!)).not.toBeNull();

      // A hand edit with no version bump is still picked up by the periodic re-read.
      await seedJob(name, 'moving', '*/1 * * * * *', { 'e2e-c': [lab.targets[7]!] }, false);
      await agent.waitFor(
        'the unbumped change',
        () => agent.lines.some((l) => l.msg === 'jobs reconciled' && l.reason === 'periodic'),
        15_000,
      );
      const periodic = agent.lines.findIndex((l) => l.msg === 'jobs reconciled' && l.reason === 'periodic');
      await agent.waitFor(
        'a run on group c',
        () =>
          agent.lines
            .slice(periodic)
            .some((l) => l.msg === 'job run' && l.job === 'moving' && l.targets === 1),
        10_000,
      );
      expect(await status(name, lab.targets[7]!)).not.toBeNull();

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

  it('hears a change made through the store within 2 s, with the poll a minute away, and reads the new members', async () => {
    const name = 'e2e-push';
    const store = createStore(backend.redis);
    await seedJob(name, 'pushed', '*/1 * * * * *', { 'e2e-push': [lab.targets[2]!] });
    const agent = startAgent(name, { PING_AGENT_CONFIG_POLL_MS: '60000', PING_AGENT_RESYNC_S: '600' });
    try {
      await agent.waitFor('a run', () => agent.runs('pushed').length >= 1, 20_000);
      // Give the subscription a moment to be confirmed (it is opened right after the first read).
      await new Promise((r) => setTimeout(r, 500));
      const changed = Date.now();
      await store.jobs.put(name, {
        SPEC: '*/2 * * * * *',
        name: 'pushed',
        group: ['e2e-push'],
        timeout_ms: 400,
      });
      await agent.waitFor(
        'the pushed change',
        () => agent.lines.some((l) => l.msg === 'jobs reconciled' && l.reason === 'pushed'),
        5_000,
      );
      expect(Date.now() - changed).toBeLessThan(2_000);
      // Members are read again only after a change: a group edit reaches the next run.
      const runs = agent.runs('pushed').length;
      await store.groups.replace('e2e-push', [lab.targets[2]!, lab.targets[3]!]);
      await agent.waitFor(
        'a run over the new members',
        () =>
          agent
            .runs('pushed')
            .slice(runs)
            .some((r) => r.targets === 2),
        8_000,
      );
    } finally {
      await agent.stop();
    }
  });

  it('deletes the statuses and history of a job removed altogether, so none of them looks fresh for ever', async () => {
    const name = 'e2e-gone';
    const ip = lab.targets[4]!;
    const store = createStore(backend.redis);
    await seedJob(name, 'gone', '*/1 * * * * *', { 'e2e-gone': [ip] });
    const agent = startAgent(name);
    try {
      await agent.waitFor('2 runs', () => agent.runs('gone').length >= 2, 20_000);
      expect(await status(name, ip)).not.toBeNull();
      expect(await store.jobs.remove(name, 'gone')).toBe(true);
      const deadline = Date.now() + 5_000;
      while ((await status(name, ip)) !== null && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      expect(await status(name, ip)).toBeNull();
    } finally {
      await agent.stop();
    }
  });

  it('loses and doubles nothing while the gateway is down', async () => {
    const name = 'e2e-outage';
    const ip = lab.targets[0]!;
    await seedJob(name, 'steady', '*/1 * * * * *', { 'e2e-steady': [ip] });
    const agent = startAgent(name);
    try {
      await agent.waitFor('2 runs', () => agent.runs('steady').length >= 2, 20_000);
      await gateway.close();
      const runsBefore = agent.runs('steady').length;
      // A 30 s outage: about thirty runs with nothing written, long enough for the writer's
      // backoff to reach its ceiling. Every run must reach Redis later, in order, exactly once.
      await new Promise((r) => setTimeout(r, 30_000));
      expect(agent.runs('steady').length).toBeGreaterThanOrEqual(runsBefore + 25);
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
  }, 120_000);

  it('stopped during an outage, keeps its spool on disk and replays it at the next start before continuing the counts', async () => {
    const name = 'e2e-outage-restart';
    const ip = lab.targets[1]!;
    await seedJob(name, 'steady', '*/1 * * * * *', { 'e2e-steady-restart': [ip] });
    const first = startAgent(name);
    await first.waitFor('2 runs', () => first.runs('steady').length >= 2, 20_000);
    await gateway.close();
    const runsBefore = first.runs('steady').length;
    try {
      await first.waitFor(
        'runs spooled',
        () =>
          first.runs('steady').length >= runsBefore + 3 && Number(first.runs('steady').at(-1)!.spooled) > 0,
        20_000,
      );
      // The stop flushes the open history buckets into the spool too: the only place they exist.
      const stopped = await first.stop('SIGTERM');
      expect(stopped.code).toBe(0);
      expect(stopped.ms).toBeLessThan(5_000);
    } finally {
      gateway = await startGateway({ redisUrl: backend.redisUrl, token, port: gatewayPort });
    }
    const second = startAgent(name);
    try {
      await second.waitFor('2 runs', () => second.runs('steady').length >= 2, 20_000);
    } finally {
      expect((await second.stop()).code).toBe(0);
    }
    // Replayed in order before the counts were read back: an older status replayed after a newer
    // one, or a batch lost, would leave the counts short.
    const runs = [...first.runs('steady'), ...second.runs('steady')];
    expect(await status(name, ip)).toMatchObject({
      send_count: sum(runs, 'sent'),
      return_count: sum(runs, 'received'),
    });
    // History blocks are whole values carried on by the next process, so they add up only if
    // every spooled batch arrived, in order, before the second process read them back.
    const points = await historyOf(name, ip);
    expect(points.reduce((s, p) => s + p.sent, 0)).toBe(sum(runs, 'sent'));
    expect(points.reduce((s, p) => s + p.received, 0)).toBe(sum(runs, 'received'));
  });

  it('stops with exit code 2 and one line naming a bad setting', async () => {
    const agent = startAgent('e2e-bad', { PING_AGENT_CLEAN_WINDOW_S: 'soon' });
    expect(await agent.wait()).toBe(2);
    expect(agent.stderr.trim()).toBe(
      'ping-agent run: PING_AGENT_CLEAN_WINDOW_S is "soon"; set it to a whole number from 1 to 86400 (default 60)',
    );
  });
});
