import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createStore } from '../../shared/store.ts';
import { describeLab, labMissing } from '../../test/lab/require-lab.ts';
import { startTestBackend, type TestBackend } from '../../test/support/backend.ts';
import { AgentProcess } from './testing/agent-process.ts';

// The daemon must never load Node's fetch: its first touch (fetch, Response, Headers, Request,
// FormData) loads undici and compiles its WebAssembly HTTP parser, some 30 MB of peak memory at
// start (bench/RESULTS-agent.md). The real `ping-agent run` as a child process, ICMP to loopback
// addresses, real redis-server behind the gateway; a hook preloaded into the child writes the
// undici modules it loaded when it exits. Job runs, writes, the heartbeat, config polls and the
// config subscription (a job pushed while polls are an hour apart) all go through it.

let backend: TestBackend;
let dir: string;

beforeAll(async () => {
  if (labMissing) return;
  backend = await startTestBackend();
  dir = await mkdtemp(join(tmpdir(), 'agent-no-undici-'));
  await writeFile(
    join(dir, 'hook.cjs'),
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(join(dir, 'loaded.json'))},
      JSON.stringify(process.moduleLoadList.filter((m) => m.includes('undici')))));\n`,
  );
});

afterAll(async () => {
  await backend?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describeLab('the daemon and Node fetch', () => {
  it('runs jobs, writes, polls and listens for config without loading undici', async () => {
    const store = createStore(backend.redis);
    await store.groups.replace('loopback', ['127.30.0.1', '127.30.0.2']);
    await store.jobs.put('plain', {
      SPEC: '*/1 * * * * *',
      name: 'first',
      group: ['loopback'],
      timeout_ms: 400,
    });
    const agent = AgentProcess.start({
      UPSTASH_REDIS_REST_URL: backend.gatewayUrl,
      UPSTASH_REDIS_REST_TOKEN: backend.token,
      PING_AGENT_NAME: 'plain',
      PING_AGENT_SPOOL_DIR: join(dir, 'spool'),
      PING_AGENT_HEARTBEAT_TTL_S: '3',
      PING_AGENT_CONFIG_POLL_MS: '3600000',
      PING_AGENT_RATE_PPS: '500',
      NODE_OPTIONS: `--require ${join(dir, 'hook.cjs')}`,
    });
    try {
      await agent.waitFor('2 runs', () => agent.runs('first').length >= 2, 20_000);
      // Only the subscription can bring this job in time: the next poll is an hour away.
      await store.jobs.put('plain', {
        SPEC: '*/1 * * * * *',
        name: 'second',
        group: ['loopback'],
        timeout_ms: 400,
      });
      await agent.waitFor('the pushed job run', () => agent.runs('second').length >= 1, 20_000);
      expect(await backend.redis.get(store.keys.agentOnline('plain'))).not.toBeNull();
    } finally {
      expect((await agent.stop()).code).toBe(0);
    }
    expect(JSON.parse(await readFile(join(dir, 'loaded.json'), 'utf8'))).toEqual([]);
  });
});
