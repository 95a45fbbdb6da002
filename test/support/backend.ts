import { Redis, type RedisConfigNodejs } from '@upstash/redis';
import { type Gateway, type GatewayOptions, startGateway } from '../../gateway/start-gateway.ts';
import { RedisServer } from './redis-server.ts';

// The storage every test that touches Redis runs against: a real redis-server of its own, our
// Upstash-REST gateway in front of it, and the real @upstash/redis client pointed at the gateway.
// One per test file (vitest runs files in parallel), so no two files share a database.
//
//   let backend: TestBackend;
//   beforeAll(async () => { backend = await startTestBackend(); });
//   afterAll(() => backend?.close());

export interface TestBackend {
  redisUrl: string;
  redisPort: number;
  gatewayUrl: string;
  /** The read-write token. */
  token: string;
  /** A token the gateway lets run read commands only. */
  readOnlyToken: string;
  /** `@upstash/redis` with automatic deserialization and retries off, as the store uses it. */
  redis: Redis;
  /** Another client for the same gateway, e.g. `client({ token: backend.readOnlyToken })`. */
  client(overrides?: Partial<RedisConfigNodejs>): Redis;
  /** Kills redis-server (as a crash would); the gateway stays up and answers 500 meanwhile. */
  stopRedis(): Promise<void>;
  /** Starts redis-server again on the same port and directory (empty: nothing is persisted). */
  startRedis(): Promise<void>;
  /** Stops the gateway and redis-server and removes the directory; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Tests empty their database with FLUSHDB, which the gateway refuses unless allowed;
 * `gatewayOptions` adds to or overrides the test gateway's options (allowCommands: ['eval'], say).
 */
export async function startTestBackend(gatewayOptions: Partial<GatewayOptions> = {}): Promise<TestBackend> {
  const server = await RedisServer.start();
  const token = `test-token-${process.pid}-${server.port}`;
  const readOnlyToken = `test-read-token-${process.pid}-${server.port}`;
  let gateway: Gateway;
  try {
    gateway = await startGateway({
      redisUrl: server.url,
      token,
      readOnlyToken,
      port: 0,
      allowCommands: ['flushdb'],
      ...gatewayOptions,
    });
  } catch (error) {
    await server.close();
    throw error;
  }
  const client = (overrides: Partial<RedisConfigNodejs> = {}) =>
    new Redis({
      url: gateway.url,
      token,
      automaticDeserialization: false,
      retry: false,
      enableTelemetry: false,
      ...overrides,
    });
  let closed = false;
  return {
    redisUrl: server.url,
    redisPort: server.port,
    gatewayUrl: gateway.url,
    token,
    readOnlyToken,
    redis: client(),
    client,
    stopRedis: () => server.stop(),
    startRedis: () => server.startAgain(),
    close: async () => {
      if (closed) return;
      closed = true;
      await Promise.allSettled([gateway.close(), server.close()]);
    },
  };
}
