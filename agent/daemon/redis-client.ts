import { Redis } from '@upstash/redis';

// The agent's @upstash/redis client. Its own retries are off (the writer retries with backoff
// and jitter, and spools meanwhile), every request has a timeout, and values come back as stored.
//
// The client reports an HTTP error as a message without its status, but the agent must tell a
// refusal (401, 400: retrying cannot help) from an outage (5xx, 429, no answer). So the fetch the
// client uses is wrapped, for requests to our Redis URL only: a response that is not 2xx becomes a
// RedisHttpError carrying its status, and requests and commands are counted for the metrics.

export class RedisHttpError extends Error {
  constructor(
    readonly status: number,
    body: string,
  ) {
    super(`Redis REST endpoint answered HTTP ${status}: ${body.slice(0, 300)}`);
    this.name = 'RedisHttpError';
  }
}

/** True when trying again later may work: no answer, a timeout, 429 or 5xx. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof RedisHttpError) return error.status === 429 || error.status >= 500;
  return true;
}

export interface RequestCounters {
  requests: number;
  commands: number;
  failures: number;
}

const watched = new Map<string, RequestCounters>();
let installed = false;

function installFetchWrapper(): void {
  if (installed) return;
  installed = true;
  const original = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    let counters: RequestCounters | undefined;
    for (const [base, c] of watched) if (url.startsWith(base)) counters = c;
    if (!counters) return original(input, init);
    counters.requests += 1;
    counters.commands += countCommands(url, init?.body);
    let response: Response;
    try {
      response = await original(input, init);
    } catch (error) {
      counters.failures += 1;
      throw error;
    }
    if (!response.ok) {
      counters.failures += 1;
      throw new RedisHttpError(response.status, await response.text().catch(() => ''));
    }
    return response;
  };
}

function countCommands(url: string, body: unknown): number {
  if (!/\/(pipeline|multi-exec)$/.test(url)) return 1;
  if (typeof body !== 'string') return 1;
  // Each command in a pipeline body is a JSON array opening with `["`; counting them is cheaper
  // than parsing a megabyte of JSON twice.
  let count = 0;
  for (let i = body.indexOf('["'); i >= 0; i = body.indexOf('["', i + 2)) count++;
  return Math.max(1, count);
}

export function createRedisClient(url: string, token: string, timeoutMs: number) {
  installFetchWrapper();
  const counters: RequestCounters = { requests: 0, commands: 0, failures: 0 };
  watched.set(url, counters);
  const redis = new Redis({
    url,
    token,
    automaticDeserialization: false,
    enableTelemetry: false,
    // `retry: false` still makes two attempts; zero retries makes one.
    retry: { retries: 0, backoff: () => 0 },
    signal: () => AbortSignal.timeout(timeoutMs),
  });
  return { redis, counters };
}
