import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../../test/support/redis-server.ts';

// `ping-agent gateway` as a user runs it: the real binary, settings from flags and environment.

const cli = resolve(fileURLToPath(import.meta.url), '../../../bin/ping-agent.js');

let redis: RedisServer;
beforeAll(async () => {
  redis = await RedisServer.start();
});
afterAll(() => redis?.close());

function start(args: string[], env: Record<string, string> = {}): ChildProcess {
  const clean = { ...process.env };
  delete clean.UPSTASH_REDIS_REST_TOKEN;
  delete clean.REDIS_URL;
  return spawn(process.execPath, [cli, 'gateway', ...args], {
    env: { ...clean, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('ping-agent gateway', () => {
  it('serves with the token from the environment, logs its URL once, and stops on SIGTERM', async () => {
    const child = start(['--port', '0', '--redis-url', redis.url], { UPSTASH_REDIS_REST_TOKEN: 'cli-token' });
    const exited = exitOf(child);
    const url = await new Promise<string>((resolve, reject) => {
      let seen = '';
      child.stdout!.on('data', (chunk) => {
        seen += chunk;
        const match = /serving (http:\/\/\S+) in front of redis:\/\/127\.0\.0\.1:\d+/.exec(seen);
        if (match) resolve(match[1]!);
      });
      child.on('exit', () => reject(new Error(`the gateway exited early: ${seen}`)));
    });
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization: 'Bearer cli-token' },
      body: '["ECHO", "hello"]',
    });
    expect(await response.json()).toEqual({ result: 'hello' });
    child.kill('SIGTERM');
    const { code, stdout } = await exited;
    expect(code).toBe(0);
    expect(stdout.trim().split('\n')).toHaveLength(1);
  });

  it('exits 2 with one line naming the missing token and how to give it', async () => {
    const { code, stderr } = await exitOf(start(['--port', '0']));
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(
      'ping-agent gateway: the gateway needs a token: pass --token T or set UPSTASH_REDIS_REST_TOKEN (clients send it as "Authorization: Bearer T")',
    );
  });

  it('exits 2 naming a bad flag value', async () => {
    const { code, stderr } = await exitOf(start(['--token', 't', '--redis-url', 'localhost:6379']));
    expect(code).toBe(2);
    expect(stderr).toMatch(
      /^ping-agent gateway: --redis-url \(or REDIS_URL\): "localhost:6379" must start with redis:\/\//,
    );
  });
});
