import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from '@upstash/redis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Gateway, startGateway } from '../../gateway/start-gateway.ts';
import { keySchema } from '../../shared/keys.ts';
import { ipStatusSchema } from '../../shared/schema.ts';
import { credentialStore } from '../../shared/store/credentials.ts';
import { createLab, type Lab } from '../../test/lab/lab.ts';
import { describeLab, labMissing } from '../../test/lab/require-lab.ts';
import { startTestBackend, type TestBackend } from '../../test/support/backend.ts';
import { AgentProcess } from './testing/agent-process.ts';

// The real agent (`ping-agent run` as a child process, real ICMP into the lab's namespace) with
// nothing but its own scoped credential, made through the gateway as the API makes it: it runs
// its jobs, keeps its err list, spools through an outage and replays, all with that token; a
// revoked token stops its writes at the next request, while the admin token goes on working.

const keys = keySchema();
let backend: TestBackend;
let gateway: Gateway;
let port = 0;
let spoolRoot: string;
let lab: Lab;
const agents: AgentProcess[] = [];

async function startOwnGateway(): Promise<void> {
  gateway = await startGateway({ redisUrl: backend.redisUrl, token: backend.token, port });
  port = gateway.port;
}

beforeAll(async () => {
  if (labMissing) return;
  lab = await createLab({ targets: 3 });
  backend = await startTestBackend();
  await startOwnGateway();
  spoolRoot = await mkdtemp(join(tmpdir(), 'agent-credential-'));
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop('SIGKILL').catch(() => {})));
  await lab?.close();
  await gateway?.close();
  await backend?.close();
  if (spoolRoot) await rm(spoolRoot, { recursive: true, force: true });
});

const admin = () =>
  new Redis({
    url: gateway.url,
    token: backend.token,
    automaticDeserialization: false,
    retry: false,
    enableTelemetry: false,
  });

function startAgent(name: string, token: string): AgentProcess {
  const agent = AgentProcess.start({
    UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${port}`,
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
  });
  agents.push(agent);
  return agent;
}

async function status(agent: string, ip: string) {
  const raw = await backend.redis.get<string>(keys.ipStatus(agent, ip));
  return raw === null ? null : ipStatusSchema.parse(JSON.parse(raw));
}

describeLab('an agent with its own scoped credential', () => {
  it('runs its jobs, err list and spool replay; revoked, it writes nothing more', async () => {
    const name = 'scoped';
    const [fine, lossy] = [lab.targets[0]!, lab.targets[1]!];
    const p = backend.redis.pipeline();
    p.sadd(keys.group('scoped-g'), fine, lossy);
    p.sadd(keys.groupsList(), 'scoped-g');
    p.set(
      keys.agentJob(name, 'core'),
      JSON.stringify({ SPEC: '*/1 * * * * *', name: 'core', group: ['scoped-g'], timeout_ms: 400 }),
    );
    p.sadd(keys.agentJobs(name), 'core');
    p.incr(keys.configVersion());
    await p.exec();
    const credentials = credentialStore({ redis: admin(), keys });
    const { token } = await credentials.issue(name);

    const agent = startAgent(name, token);
    try {
      await agent.waitFor('2 runs', () => agent.runs('core').length >= 2, 20_000);
      expect(await backend.redis.sismember(keys.agentList(), name)).toBe(1);
      expect(await backend.redis.get(keys.agentOnline(name))).not.toBeNull();

      // Err list: a target losing every probe is listed.
      await lab.setLoss(lossy, 100);
      await agent.waitFor(
        'the lossy target listed',
        () => agent.runs('core').some((r) => Number(r.errAdded) > 0),
        20_000,
      );
      expect(await backend.redis.smembers(keys.agentErrList(name))).toEqual([lossy]);
      await lab.clearLoss();

      // An outage: runs spool, and replay through the same token once the gateway is back.
      await gateway.close();
      const before = agent.runs('core').length;
      await agent.waitFor(
        'runs spooled',
        () => agent.runs('core').length >= before + 3 && Number(agent.runs('core').at(-1)!.spooled) > 0,
        20_000,
      );
      await startOwnGateway();
      await agent.waitFor(
        'the spool replayed',
        () => agent.lines.some((l) => l.msg === 'spool replayed; results are live again'),
        40_000,
      );
      // Nothing the agent wrote was refused.
      expect(agent.lines.filter((l) => /REFUSED/.test(l.msg))).toEqual([]);
      expect((await status(name, fine))?.send_count).toBeGreaterThan(0);

      // Revoked: the very next write is refused, and nothing lands any more (the heartbeat, written
      // every couple of seconds, stays gone once the admin deletes it).
      expect(await credentials.revoke(name)).toBe(true);
      await backend.redis.del(keys.agentOnline(name));
      const runsAtRevoke = agent.runs('core').length;
      await agent.waitFor('3 more runs', () => agent.runs('core').length >= runsAtRevoke + 3, 10_000);
      await new Promise((r) => setTimeout(r, 3_000));
      expect(await backend.redis.get(keys.agentOnline(name))).toBeNull();
      expect(agent.lines.some((l) => /REFUSED|failed/i.test(l.msg))).toBe(true);
      // The admin token works throughout.
      expect(await admin().ping()).toBe('PONG');
    } finally {
      await lab.clearLoss();
      await agent.stop('SIGKILL');
    }
  }, 120_000);
});
