import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Gateway, startGateway } from '../../gateway/start-gateway.ts';
import { keySchema } from '../../shared/keys.ts';
import { ipStatusSchema } from '../../shared/schema.ts';
import { describeLab, labMissing } from '../../test/lab/require-lab.ts';
import { startTestBackend, type TestBackend } from '../../test/support/backend.ts';
import { AgentProcess } from './testing/agent-process.ts';

// The agent's spool and its stop when the disk or Redis misbehave, end to end: the real CLI as a
// child process probing loopback addresses (raw sockets, so root), real redis-server behind a
// gateway this file stops to play an outage, the spool directory removed under the agent or put on
// a tiny tmpfs, and a Redis endpoint that never answers.

const keys = keySchema();
const token = 'spool-faults-token';
let backend: TestBackend;
let gateway: Gateway;
let gatewayPort = 0;
let root: string;
const agents: AgentProcess[] = [];
const mounts: string[] = [];

beforeAll(async () => {
  if (labMissing) return;
  backend = await startTestBackend();
  gateway = await startGateway({ redisUrl: backend.redisUrl, token, port: 0 });
  gatewayPort = gateway.port;
  root = await mkdtemp(join(tmpdir(), 'spool-faults-'));
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop('SIGKILL').catch(() => {})));
  for (const dir of mounts) unmount(dir);
  await gateway?.close();
  await backend?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'ignore' });
  } catch {
    // Not mounted (any more).
  }
}

function startAgent(name: string, spoolDir: string, extra: Record<string, string> = {}): AgentProcess {
  const agent = AgentProcess.start({
    UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${gatewayPort}`,
    UPSTASH_REDIS_REST_TOKEN: token,
    PING_AGENT_NAME: name,
    PING_AGENT_SPOOL_DIR: spoolDir,
    PING_AGENT_METRICS_ADDR: '127.0.0.1:0',
    PING_AGENT_HEARTBEAT_TTL_S: '5',
    PING_AGENT_CONFIG_POLL_MS: '300',
    PING_AGENT_REQUEST_TIMEOUT_MS: '1000',
    PING_AGENT_RATE_PPS: '2000',
    ...extra,
  });
  agents.push(agent);
  return agent;
}

async function seedJob(agent: string, job: string, group: string, ips: string[]): Promise<void> {
  const p = backend.redis.pipeline();
  p.del(keys.group(group));
  p.sadd(keys.group(group), ips[0]!, ...ips.slice(1));
  p.sadd(keys.groupsList(), group);
  p.set(
    keys.agentJob(agent, job),
    JSON.stringify({ SPEC: '*/1 * * * * *', name: job, group: [group], timeout_ms: 300 }),
  );
  p.sadd(keys.agentJobs(agent), job);
  p.incr(keys.configVersion());
  await p.exec();
}

async function restartGateway(): Promise<void> {
  gateway = await startGateway({ redisUrl: backend.redisUrl, token, port: gatewayPort });
}

/** Reads one unlabelled-but-agent sample of the agent's /metrics, or a job's with `job`. */
async function metric(agent: AgentProcess, name: string, job?: string): Promise<number> {
  const port = agent.lines.find((l) => l.msg === 'metrics served at /metrics')?.port;
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && (job === undefined || l.includes(`job="${job}"`)));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

const sum = (lines: { [k: string]: unknown }[], field: string) =>
  lines.reduce((s, l) => s + Number(l[field] ?? 0), 0);

describeLab('ping-agent run when its disk or Redis misbehaves', () => {
  it('makes its directory again when it is removed during an outage, loses no run, and stops at once', async () => {
    const name = 'spool-removed';
    const spoolDir = join(root, name);
    await seedJob(name, 'steady', 'spool-removed', ['127.0.0.1']);
    const agent = startAgent(name, spoolDir);
    await agent.waitFor('2 runs', () => agent.runs('steady').length >= 2, 20_000);
    await gateway.close();
    try {
      await agent.waitFor('a run spooled', () => Number(agent.runs('steady').at(-1)?.spooled) > 0, 20_000);
      await rm(spoolDir, { recursive: true });
      const removedAt = agent.runs('steady').length;
      await agent.waitFor('3 more runs', () => agent.runs('steady').length >= removedAt + 3, 20_000);
      expect(agent.lines.filter((l) => l.msg === 'job run failed')).toEqual([]);
      expect((await readdir(spoolDir)).filter((n) => n.endsWith('.json')).length).toBeGreaterThan(0);
      expect(await metric(agent, 'ping_agent_job_run_failures_total', 'steady')).toBe(0);

      const stopped = await agent.stop('SIGTERM');
      expect(stopped).toMatchObject({ code: 0 });
      expect(stopped.ms).toBeLessThan(5_000);
      expect(agent.stderr).toBe('');
    } finally {
      await restartGateway();
    }
    // The next start replays what was spooled after the removal: the counts reach the last run.
    const second = startAgent(name, spoolDir);
    await second.waitFor('2 runs', () => second.runs('steady').length >= 2, 20_000);
    expect((await second.stop()).code).toBe(0);
    const runs = [...agent.runs('steady'), ...second.runs('steady')];
    const raw = await backend.redis.get<string>(keys.ipStatus(name, '127.0.0.1'));
    expect(ipStatusSchema.parse(JSON.parse(raw!))).toMatchObject({ send_count: sum(runs, 'sent') });
  }, 90_000);

  it('on a full disk counts every lost batch and failed run, keeps no partial file, and exits non-zero when its stop loses results', async (ctx) => {
    const name = 'spool-full';
    const spoolDir = join(root, name);
    await mkdir(spoolDir, { recursive: true });
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', spoolDir], {
        stdio: 'pipe',
      });
      mounts.push(spoolDir);
    } catch (error) {
      if (process.env.CI === 'true') throw new Error(`cannot mount a tmpfs for the spool: ${error}`);
      ctx.skip();
    }
    // 300 loopback addresses, so that a run has something to write; the disk is filled below.
    const ips = Array.from({ length: 300 }, (_, i) => `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`);
    await seedJob(name, 'wide', 'spool-full', ips);
    const agent = startAgent(name, spoolDir);
    await agent.waitFor('a run', () => agent.runs('wide').length >= 1, 20_000);
    await gateway.close();
    try {
      // A run's batch is small (statuses are written when they change), so take all the room at
      // once: every spool write from now on meets ENOSPC, and so does the stop's last flush.
      await writeFile(join(spoolDir, 'filler'), Buffer.alloc(256 * 1024)).catch(() => {});
      const failed = () => agent.lines.filter((l) => l.msg === 'job run failed');
      await agent.waitFor('3 failed runs', () => failed().length >= 3, 30_000);
      expect(failed().every((l) => String(l.err).includes('ENOSPC'))).toBe(true);
      // Each failure names how many batches it lost; the metric counts exactly those.
      const lost = failed().reduce(
        (s, l) => s + Number(/cannot spool ([0-9]+) of/.exec(String(l.err))?.[1] ?? Number.NaN),
        0,
      );
      expect(lost).toBeGreaterThanOrEqual(3);
      const failedRuns = failed().length;
      expect(await metric(agent, 'ping_agent_spool_dropped_batches_total')).toBe(lost);
      expect(await metric(agent, 'ping_agent_job_run_failures_total', 'wide')).toBeGreaterThanOrEqual(
        failedRuns,
      );
      expect((await readdir(spoolDir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);

      const stopped = await agent.stop('SIGTERM');
      expect(stopped.ms).toBeLessThan(5_000);
      expect(stopped.code).toBe(1);
      expect(agent.stderr).toMatch(/^ping-agent run: .*ENOSPC.*\n$/);
      await rm(join(spoolDir, 'filler'));
    } finally {
      await restartGateway();
    }
    expect((await readdir(spoolDir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);

    // Room again and Redis back: the next start replays what was spooled and runs on.
    const second = startAgent(name, spoolDir);
    await second.waitFor('2 runs', () => second.runs('wide').length >= 2, 30_000);
    expect(second.lines.filter((l) => l.msg === 'job run failed')).toEqual([]);
    expect((await second.stop()).code).toBe(0);
    expect(await readdir(spoolDir)).toEqual([]);
  }, 120_000);

  it('ends at once, exit 1, on a second signal while its stop waits for Redis', async () => {
    // A Redis endpoint that accepts connections and never answers: the stop waits for the request.
    const sockets: Socket[] = [];
    const silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const agent = startAgent('spool-second-signal', join(root, 'spool-second-signal'), {
        UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${port}`,
        PING_AGENT_REQUEST_TIMEOUT_MS: '60000',
      });
      await agent.waitFor('a request in flight', () => sockets.length > 0, 20_000);
      agent.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 500));
      expect(agent.child.exitCode).toBeNull();
      const stopped = await agent.stop('SIGTERM', 10_000);
      expect(stopped).toMatchObject({ code: 1 });
      expect(stopped.ms).toBeLessThan(2_000);
      expect(agent.lines.at(-1)).toMatchObject({ level: 50, signal: 'SIGTERM' });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
