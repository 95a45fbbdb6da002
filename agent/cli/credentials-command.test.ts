import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiHarness, startApiHarness, TOKENS } from '../../functions/testing/api-harness.ts';
import { serveFetch } from '../../test/support/serve-fetch.ts';

// `ping-agent credentials` as an operator runs it: the real CLI against the API served over HTTP,
// the gateway and a real redis-server behind it.

const CLI = fileURLToPath(new URL('../../bin/ping-agent.js', import.meta.url));
let api: ApiHarness;
let server: { url: string; close(): Promise<void> };

beforeAll(async () => {
  api = await startApiHarness();
  server = await serveFetch((request) => {
    const url = new URL(request.url);
    return api.raw(url.pathname + url.search, request);
  });
});
afterAll(async () => {
  await server?.close();
  await api?.close();
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, 'credentials', ...args], {
      env: { PATH: process.env.PATH ?? '', PING_AGENT_API_TOKEN: TOKENS.write },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('ping-agent credentials', () => {
  it('creates once, shows, rotates and revokes', async () => {
    const url = server.url;
    const made = await cli('create', '--agent', 'edge-9', '--url', url);
    expect(made.code).toBe(0);
    expect(made.stdout).toMatch(/^UPSTASH_REDIS_REST_TOKEN=pau1\.\S+\n$/);
    const again = await cli('create', '--agent', 'edge-9', '--url', url);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already has a credential; "rotate"');
    const shown = await cli('show', '--agent', 'edge-9', '--url', url);
    expect(shown.stdout).toMatch(/^agent edge-9: Redis user ping-agent\.edge-9, made \S+, rules redis7\n$/);
    expect(shown.stdout).not.toContain('pau1');
    const rotated = await cli('rotate', '--agent', 'edge-9', '--url', url);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).not.toBe(made.stdout);
    expect(rotated.stderr).toContain('the old one no longer works');
    expect((await cli('revoke', '--agent', 'edge-9', '--url', url)).code).toBe(0);
    const gone = await cli('revoke', '--agent', 'edge-9', '--url', url);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('404');
  });

  it('names the bad value and exits 2', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['burn', '--agent', 'a', '--url', 'http://x'],
        /unknown action "burn"; give one of create, rotate, revoke, show/,
      ],
      [['create', '--url', 'http://x'], /--agent is required/],
      [['create', '--agent', 'a_b', '--url', 'http://x'], /--agent "a_b" is not an agent name/],
      [['create', '--agent', 'a', '--url', 'ftp://x'], /--url must be an http\(s\) URL, not "ftp:\/\/x"/],
      [['create', '--agent', 'a', '--url', 'http://127.0.0.1:9'], /cannot reach the API/],
    ];
    for (const [args, message] of cases) {
      const out = await cli(...args);
      expect(out.code, args.join(' ')).toBe(2);
      expect(out.stderr).toMatch(message);
    }
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: ping-agent credentials create|rotate|revoke|show');
  });
});
