import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeLab } from '../lab/require-lab.ts';
import { freePort } from '../support/redis-server.ts';

// The README's first command, as a user runs it: `ping-agent dev` brings up redis-server, the
// gateway, the API on wrangler dev and an agent probing the demo group; the API then reports the
// agent's measurements; Ctrl-C stops every process it started. (The agent needs root, hence the lab
// guard: in CI this test must run.)

let stack: ChildProcess;
let output = '';
let apiUrl: string;
let redisPort: number;
let gatewayPort: number;
let apiPort: number;
const dataDir = mkdtempSync(join(tmpdir(), 'ping-agent-dev-'));

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${what} within ${timeoutMs} ms; stack output:\n${output.slice(-3000)}`);
}

describeLab('ping-agent dev', () => {
  beforeAll(async () => {
    redisPort = await freePort();
    gatewayPort = await freePort();
    apiPort = await freePort();
    apiUrl = `http://127.0.0.1:${apiPort}`;
    stack = spawn(
      process.execPath,
      [
        'bin/ping-agent.js',
        'dev',
        '--redis-port',
        String(redisPort),
        '--gateway-port',
        String(gatewayPort),
        '--api-port',
        String(apiPort),
        '--data-dir',
        dataDir,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } },
    );
    stack.stdout!.on('data', (d) => {
      output += d;
    });
    stack.stderr!.on('data', (d) => {
      output += d;
    });
    await waitFor(
      'the stack printed its banner',
      async () => (output.includes('stack is up') ? true : undefined),
      90_000,
    );
  }, 120_000);

  afterAll(async () => {
    if (stack && stack.exitCode === null) stack.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints the URLs and tokens it uses', () => {
    expect(output).toContain(apiUrl);
    expect(output).toContain(`redis://127.0.0.1:${redisPort}`);
    expect(output).toMatch(/token dev-api-token/);
  });

  it('runs the scheduled handler locally and takes local alert receivers', async () => {
    const scheduled = await fetch(`${apiUrl}/__scheduled?cron=*+*+*+*+*`);
    expect(scheduled.status).toBe(200);
    const notifier = await fetch(`${apiUrl}/v1/notifiers/local-hook`, {
      method: 'PUT',
      headers: { authorization: 'Bearer dev-api-token', 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'webhook', url: 'http://127.0.0.1:9/hook' }),
    });
    expect(notifier.status).toBe(200);
    expect(output).toContain('alerts    rules evaluated every minute');
  });

  it('reports the demo agent measuring the demo group through the API', async () => {
    const health = await fetch(`${apiUrl}/v1/health`);
    expect(health.status).toBe(200);
    const verdict = await waitFor(
      'a 200 verdict with both demo IPs measured',
      async () => {
        const response = await fetch(`${apiUrl}/v1/check?group=demo`, {
          headers: { authorization: 'Bearer dev-api-token' },
        });
        const body = (await response.json()) as { ok: boolean; checked: number };
        return response.status === 200 && body.checked === 2 ? body : undefined;
      },
      40_000,
    );
    expect(verdict.ok).toBe(true);
    // ...with a credential of its own, made through the API: it reaches only its own keys.
    expect(output).toContain('with its own Redis token');
    const credential = await fetch(`${apiUrl}/v1/agents/local/credentials`, {
      headers: { authorization: 'Bearer dev-api-token' },
    });
    expect(await credential.json()).toMatchObject({ exists: true, credential: { acl: 'redis7' } });
  }, 60_000);

  it('answers the measure command its banner suggests, on the demo agent', () => {
    // The banner's line, run as printed (with this test's port): loopback targets are allowed here.
    const line = /npx ping-agent (measure .*)$/m.exec(output)?.[1];
    expect(line).toContain(`--url ${apiUrl}`);
    const printed = execFileSync(process.execPath, ['bin/ping-agent.js', ...line!.split(' ')], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(printed).toMatch(/local\s+127\.0\.0\.1\s.*3\/3/);
  }, 70_000);

  it('stops every process it started on Ctrl-C', async () => {
    const exited = new Promise<number | null>((resolve) => stack.once('exit', (code) => resolve(code)));
    stack.kill('SIGINT');
    expect(await exited).toBe(0);
    // The first letter in brackets keeps the pattern from matching the shell running pgrep.
    for (const pattern of [
      `[r]edis-server 127.0.0.1:${redisPort}`,
      `[g]ateway --port ${gatewayPort}`,
      `[w]rangler.* --port ${apiPort}`,
      `[w]orkerd serve.*entry=127.0.0.1:${apiPort}`,
    ]) {
      const left = execFileSync('sh', ['-c', `pgrep -af -- '${pattern}' || true`], { encoding: 'utf8' });
      expect(left.trim(), pattern).toBe('');
    }
  }, 30_000);
});
