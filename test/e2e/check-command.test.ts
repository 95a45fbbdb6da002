import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { app } from '../../functions/app.ts';
import { type ApiHarness, startApiHarness, TOKENS } from '../../functions/testing/api-harness.ts';
import { keySchema } from '../../shared/keys.ts';
import { serveFetch } from '../support/serve-fetch.ts';

// `ping-agent check` as a CI runner runs it: the real CLI process against the API over HTTP.

const cli = resolve(import.meta.dirname, '../../bin/ping-agent.js');
const keys = keySchema();
let api: ApiHarness;
let served: { url: string; close(): Promise<void> };

function check(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
    execFile(
      process.execPath,
      [cli, 'check', ...args],
      { env: { ...process.env, PING_AGENT_API_URL: '', PING_AGENT_API_TOKEN: '', ...env }, timeout: 20_000 },
      (error, stdout, stderr) => {
        done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  api = await startApiHarness();
  served = await serveFetch((request) => app.fetch(request, api.env));
  await api.call('PUT', '/v1/groups/dc1', { body: { ips: ['198.18.0.1', '198.18.0.2'] } });
  await api.call('PUT', '/v1/agents/edge-1/jobs/core', { body: { spec: '*/10 * * * * *', groups: ['dc1'] } });
  await api.backend.redis.sadd(keys.agentList(), 'edge-1');
  const heartbeat = {
    version: '0',
    hostname: 'h',
    pid: 1,
    started_at: new Date().toISOString(),
    jobs: ['core'],
  };
  await api.backend.redis.set(keys.agentOnline('edge-1'), JSON.stringify(heartbeat), { ex: 300 });
  for (const [ip, loss] of [
    ['198.18.0.1', 0],
    ['198.18.0.2', 0.1],
  ] as const) {
    const status = {
      ip,
      send_count: 10,
      return_count: 10 - loss * 10,
      loss_window: loss,
      err: null,
      rtt_avg_ms: 3.25,
      updated_at: new Date().toISOString(),
    };
    await api.backend.redis.set(keys.ipStatus('edge-1', ip), JSON.stringify(status), { ex: 300 });
  }
});
afterAll(async () => {
  await served?.close();
  await api?.close();
});

describe('ping-agent check', () => {
  it('exits 0 with a readable verdict when the group is within the limits', async () => {
    const res = await check([
      '--url',
      served.url,
      '--token',
      TOKENS.read,
      '--group',
      'dc1',
      '--max-loss',
      '0.2',
    ]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(
      /^ok: group dc1: 2 \(agent, IP\) pairs within limits \(loss <= 20%, age <= 180 s\); agents: edge-1\n$/,
    );
  });

  it('exits 1 listing what fails, reading URL and token from the environment', async () => {
    const res = await check(['--group', 'dc1', '--max-rtt-ms', '2'], {
      PING_AGENT_API_URL: `${served.url}/`,
      PING_AGENT_API_TOKEN: TOKENS.read,
    });
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('FAILING: group dc1: 2 problem(s)');
    expect(res.stdout).toMatch(/edge-1\s+198\.18\.0\.2\s+loss\s+loss 10%\s+rtt 3\.3 ms/);
    expect(res.stdout).toMatch(/edge-1\s+198\.18\.0\.1\s+rtt\s+loss 0%\s+rtt 3\.3 ms/);
  });

  it('prints the JSON answer with --json', async () => {
    const res = await check(['--url', served.url, '--token', TOKENS.read, '--group', 'dc1', '--json']);
    expect(res.code).toBe(1);
    expect(JSON.parse(res.stdout)).toMatchObject({ ok: false, failing_count: 1 });
  });

  it('exits 2 naming the problem for bad usage, a wrong token, an unknown group or no API', async () => {
    const cases = [
      [['--token', 't', '--group', 'dc1'], 'no API URL; pass --url or set PING_AGENT_API_URL'],
      [['--url', served.url, '--group', 'dc1'], 'no token'],
      [['--url', 'ftp://x', '--token', 't', '--group', 'dc1'], '--url must be an http(s) URL'],
      [['--url', served.url, '--token', 't'], '--group is required'],
      [
        ['--url', served.url, '--token', 't', '--group', 'dc1', '--max-loss', '5'],
        '--max-loss must be a number from 0 to 1',
      ],
      [['--url', served.url, '--token', 'wrong', '--group', 'dc1'], 'the API answered 401'],
      [
        ['--url', served.url, '--token', TOKENS.read, '--group', 'nope'],
        'the API answered 404: no group named nope',
      ],
      [
        ['--url', 'http://127.0.0.1:9', '--token', 't', '--group', 'dc1'],
        'cannot reach the API at http://127.0.0.1:9',
      ],
    ] as const;
    for (const [args, message] of cases) {
      const res = await check([...args]);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.stderr).toContain(message);
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('never passes on an answer that is not a verdict (a wrong --url that answers 200 or 412)', async () => {
    const answers = [
      [200, { ok: true }],
      [200, {}],
      [412, { ok: true, group: 'dc1', agents: [], checked: 0, limits: {}, failing_count: 0, failing: [] }],
    ] as const;
    for (const [status, body] of answers) {
      const other = await serveFetch(async () => Response.json(body, { status }));
      try {
        const res = await check(['--url', other.url, '--token', 't', '--group', 'dc1']);
        expect(res.code, JSON.stringify(body)).toBe(2);
        expect(res.stderr).toContain(`answered ${status} with no verdict`);
        expect(res.stdout).toBe('');
      } finally {
        await other.close();
      }
    }
  });
});
