import { createConnection, createServer } from 'node:net';
import { errors } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBackend, type TestBackend } from '../test/support/backend.ts';
import { type Gateway, startGateway } from './start-gateway.ts';

// What the gateway refuses to run for any token: commands no client of this project needs that
// can stall, empty or reconfigure Redis or send data elsewhere, scripts (which could call any of
// them), and scripts of any kind from the read-only token. Each attack is the real one, against a
// real redis-server, through a gateway with nothing allowed beyond the defaults.

const { UpstashError } = errors;

let backend: TestBackend;
let gateway: Gateway;
beforeAll(async () => {
  backend = await startTestBackend();
  gateway = await startGateway({
    redisUrl: backend.redisUrl,
    token: backend.token,
    readOnlyToken: backend.readOnlyToken,
    port: 0,
  });
});
afterAll(async () => {
  await gateway?.close();
  await backend?.close();
});

function post(path: string, body: unknown, token = backend.token): Promise<Response> {
  return fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(3_000),
  });
}

/** Sends one inline command straight to redis-server, bypassing the gateway. */
function direct(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port: backend.redisPort }, () =>
      socket.write(`${command}\r\n`),
    );
    socket.once('data', (chunk) => {
      socket.end();
      resolve(chunk.toString());
    });
    socket.on('error', reject);
  });
}

describe('scripts from the read-only token', () => {
  it('refuses EVAL_RO, so an endless script cannot stall Redis for everyone', async () => {
    try {
      const response = await post('/', ['EVAL_RO', 'while true do end', '0'], backend.readOnlyToken);
      expect(response.status).toBe(403);
      expect(((await response.json()) as { error: string }).error).toMatch(
        /^NOPERM the read-only token may not run scripts/,
      );
      expect(await direct('PING')).toBe('+PONG\r\n');
    } finally {
      // On a gateway that let the script through, free Redis for the other tests.
      await direct('SCRIPT KILL').catch(() => '');
    }
  });

  it('refuses every other way to run code from the read-only token, in pipelines too', async () => {
    const reader = backend.client({ url: gateway.url, token: backend.readOnlyToken });
    const error = await reader.evalRo('return 1', [], []).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstashError);
    const response = await post(
      '/pipeline',
      [
        ['EVALSHA_RO', 'e0e1f9fabfc9d4800c877a703b823ac0578ff8db', '0'],
        ['FCALL_RO', 'f', '0'],
        ['GET', 'k'],
      ],
      backend.readOnlyToken,
    );
    const items = (await response.json()) as { result?: unknown; error?: string }[];
    expect(items[0]?.error).toMatch(/^NOPERM the read-only token may not run scripts/);
    expect(items[1]?.error).toMatch(/^NOPERM the read-only token may not run scripts/);
    expect(items[2]).toEqual({ result: null });
  });
});

describe('commands no client of this project needs', () => {
  it('refuses MIGRATE: Redis never connects out to the address it names', async () => {
    let connections = 0;
    const listener = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const { port } = listener.address() as { port: number };
    try {
      await backend.redis.set('secret', 'do not send');
      const response = await post('/', ['MIGRATE', '127.0.0.1', String(port), 'secret', '0', '2000', 'COPY']);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toMatch(
        /^ERR 'migrate' is not supported over the REST gateway/,
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(connections).toBe(0);
    } finally {
      listener.close();
    }
  });

  it('refuses what would empty, swap, move or reconfigure the data, on every endpoint, and nothing changes', async () => {
    await backend.redis.set('keep', 'me');
    const refused = [
      ['FLUSHALL'],
      ['FLUSHDB', 'ASYNC'],
      ['SWAPDB', '0', '1'],
      ['MOVE', 'keep', '1'],
      ['COPY', 'keep', 'elsewhere', 'DB', '1'],
      ['RESTORE', 'keep2', '0', 'x'],
      ['SCRIPT', 'FLUSH'],
      ['DEBUG', 'SLEEP', '0'],
      ['CONFIG', 'SET', 'dir', '/'],
      ['REPLICAOF', '127.0.0.1', '1'],
      ['SLAVEOF', '127.0.0.1', '1'],
      ['MODULE', 'LIST'],
      ['SHUTDOWN', 'NOSAVE'],
      // ACL: the read-write (admin) token's alone, tested in gateway-acl-users.test.ts.
      ['FUNCTION', 'FLUSH'],
      ['SLOWLOG', 'RESET'],
      ['EVAL', "return redis.call('FLUSHALL')", '0'],
      ['EVALSHA', 'e0e1f9fabfc9d4800c877a703b823ac0578ff8db', '0'],
      ['FCALL', 'f', '0'],
    ];
    for (const command of refused) {
      const single = await post('/', command);
      expect(single.status, command.join(' ')).toBe(400);
      expect(((await single.json()) as { error: string }).error, command.join(' ')).toMatch(
        /is not supported over the REST gateway/,
      );
      const pipeline = await post('/pipeline', [command, ['GET', 'keep']]);
      const items = (await pipeline.json()) as { result?: unknown; error?: string }[];
      expect(items[0]?.error, command.join(' ')).toMatch(/is not supported over the REST gateway/);
      expect(items[1]).toEqual({ result: 'me' });
      const tx = await post('/multi-exec', [['SET', 'tx', '1'], command]);
      expect(tx.status, command.join(' ')).toBe(400);
    }
    expect(await backend.redis.get('keep')).toBe('me');
    expect(await backend.redis.exists('tx', 'elsewhere')).toBe(0);
    expect(await direct('PING')).toBe('+PONG\r\n');
    // COPY within the database is an ordinary write.
    expect(await post('/', ['COPY', 'keep', 'copied']).then((r) => r.json())).toEqual({ result: 1 });
  });

  it('refuses GET /flushall?_token=..., the path form of the same', async () => {
    await backend.redis.set('keep', 'me');
    const response = await fetch(`${gateway.url}/flushall?_token=${backend.token}`);
    expect(response.status).toBe(400);
    expect(await backend.redis.get('keep')).toBe('me');
  });

  it('runs what an operator allows by name, and refuses unknown or unsafe names at start', async () => {
    const permissive = await startGateway({
      redisUrl: backend.redisUrl,
      token: backend.token,
      readOnlyToken: backend.readOnlyToken,
      port: 0,
      allowCommands: ['FLUSHDB', 'eval'],
    });
    try {
      const client = backend.client({ url: permissive.url });
      expect(await client.eval('return ARGV[1]', [], ['ran'])).toBe('ran');
      await client.set('gone', '1');
      expect(await client.flushdb()).toBe('OK');
      expect(await client.exists('gone')).toBe(0);
      // Allowed for the read-write token only.
      const reader = backend.client({ url: permissive.url, token: backend.readOnlyToken });
      expect(await reader.flushdb().catch((e: unknown) => (e as Error).message)).toMatch(/NOPERM/);
      expect(await reader.evalRo('return 1', [], []).catch((e: unknown) => (e as Error).message)).toMatch(
        /NOPERM the read-only token may not run scripts/,
      );
      expect(await client.flushall().catch((e: unknown) => (e as Error).message)).toMatch(/not supported/);
    } finally {
      await permissive.close();
    }
    for (const names of [['nosuch'], ['blpop'], ['acl'], ['get']]) {
      await expect(
        startGateway({ redisUrl: backend.redisUrl, token: 't', port: 0, allowCommands: names }),
      ).rejects.toThrow(/cannot be allowed|not a command the gateway refuses/);
    }
  });
});
