import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../test/support/redis-server.ts';
import { startGateway } from './start-gateway.ts';

// A Redis with a password and a chosen database: the gateway logs in on every connection it
// opens, and a wrong password is a 500 that says so rather than a hang.

let redis: RedisServer;
beforeAll(async () => {
  redis = await RedisServer.start();
  await rawCommands(redis.port, ['CONFIG SET requirepass s3cret']);
});
afterAll(() => redis?.close());

/** Sends inline commands straight to Redis and returns everything it answered. */
function rawCommands(port: number, commands: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.end(`${commands.join('\r\n')}\r\n`);
    });
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk;
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
  });
}

async function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { authorization: 'Bearer t' }, body: JSON.stringify(body) });
}

describe('logging in to Redis', () => {
  it('authenticates and selects the database from the URL', async () => {
    const gateway = await startGateway({
      redisUrl: `redis://:s3cret@127.0.0.1:${redis.port}/3`,
      token: 't',
      port: 0,
    });
    try {
      expect(await (await post(gateway.url, ['SET', 'in-db-3', 'yes'])).json()).toEqual({ result: 'OK' });
    } finally {
      await gateway.close();
    }
    const answer = await rawCommands(redis.port, ['AUTH s3cret', 'GET in-db-3', 'SELECT 3', 'GET in-db-3']);
    expect(answer).toBe('+OK\r\n$-1\r\n+OK\r\n$3\r\nyes\r\n');
  });

  it('answers 500 naming the refusal when the password is wrong', async () => {
    const gateway = await startGateway({
      redisUrl: `redis://:wrong@127.0.0.1:${redis.port}`,
      token: 't',
      port: 0,
    });
    try {
      const response = await post(gateway.url, ['PING']);
      expect(response.status).toBe(500);
      expect(((await response.json()) as { error: string }).error).toMatch(
        /refused the gateway's login: WRONGPASS/,
      );
    } finally {
      await gateway.close();
    }
  });
});
