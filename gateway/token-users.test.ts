import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisServer } from '../test/support/redis-server.ts';
import { RedisPool } from './redis-pool.ts';
import { parseRedisUrl } from './redis-url.ts';
import { makeUserToken, TokenUsers } from './token-users.ts';

// Verified user tokens against a real redis-server: a session no request has used for the idle
// time is closed, with its Redis connection, so a token rotated around the gateway (and so never
// presented again to be refused) does not hold a connection for ever.

let redis: RedisServer;
let admin: RedisPool;
beforeAll(async () => {
  redis = await RedisServer.start();
  admin = new RedisPool(parseRedisUrl(redis.url), {
    sharedConnections: 1,
    maxDedicated: 1,
    connectTimeoutMs: 2_000,
    replyTimeoutMs: 2_000,
  });
});
afterAll(() => {
  admin?.close();
  return redis?.close();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How many connections Redis holds logged in as `user`. */
async function connectionsOf(user: string): Promise<number> {
  const list = String(await admin.command(['CLIENT', 'LIST']));
  return list.split('\n').filter((line) => line.includes(` user=${user} `)).length;
}

it('closes the session of a token unused for the idle time, and verifies it again if it comes back', async () => {
  const token = makeUserToken('idle-agent');
  await admin.command(['ACL', 'SETUSER', 'idle-agent', 'on', `>${token}`, '+ping']);
  const users = new TokenUsers(parseRedisUrl(redis.url), admin, {
    recheckMs: 100,
    idleSessionMs: 300,
    connectTimeoutMs: 2_000,
    replyTimeoutMs: 2_000,
  });
  try {
    const session = await users.resolve(token);
    expect(session?.user).toBe('idle-agent');
    expect(await session!.pool.command(['PING'])).toBe('PONG');
    expect(await connectionsOf('idle-agent')).toBe(1);

    await sleep(450);
    // Any token checked now sweeps: here a made-up one.
    expect(await users.resolve(makeUserToken('nobody-at-all'))).toBeNull();
    for (let i = 0; i < 20 && (await connectionsOf('idle-agent')) > 0; i++) await sleep(50);
    expect(await connectionsOf('idle-agent')).toBe(0);

    const again = await users.resolve(token);
    expect(again).not.toBe(session);
    expect(await again!.pool.command(['PING'])).toBe('PONG');
  } finally {
    users.close();
  }
});
