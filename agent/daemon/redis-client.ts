import { RedisRequestError, RestRedis, redisFailureOf, restRequester } from '../../shared/redis-requester.ts';
import { nodeHttpTransport } from './node-http-transport.ts';

// The agent's @upstash/redis client, over the project's own requester: it counts requests and
// commands for the metrics and records each failure's HTTP status and kind, so the agent can tell
// a refusal (a bad token, a bad URL, a command Redis rejects: retrying cannot help) from an outage
// (no answer, a timeout, 429, 5xx: spool and retry). Its own retries are off: the writer retries
// with backoff and jitter, and spools meanwhile. Requests go out through node:http, not fetch,
// which would load undici for nothing (node-http-transport.ts).

export { RedisRequestError };

/** True when trying again later may work: Redis did not answer, or answered that it is busy. */
export function isRetryable(error: unknown): boolean {
  return redisFailureOf(error)?.failure === 'unavailable';
}

export interface RequestCounters {
  readonly requests: number;
  readonly commands: number;
  readonly failures: number;
}

export function createRedisClient(url: string, token: string, timeoutMs: number) {
  const redis = new RestRedis(
    restRequester({ url, token, retries: 0, retryDelayMs: 0, timeoutMs, transport: nodeHttpTransport() }),
  );
  const counters: RequestCounters = redis.stats;
  return { redis, counters };
}
