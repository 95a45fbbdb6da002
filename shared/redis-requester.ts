import { Redis, type Requester, type UpstashRequest, type UpstashResponse } from '@upstash/redis';

// Our own transport for @upstash/redis, used by the Worker and the agent alike. The client's
// built-in one reports a failure as a message: no HTTP status, an outage and a refusal worded
// alike, and each runtime words a lost connection its own way (workerd: "Network connection
// lost."). Here every request is counted and every failure is classified where it is seen:
//
//   unavailable  no answer, a timeout, HTTP 429 or 5xx, an answer that is not the REST protocol,
//                or a Redis error reply that passes with time (LOADING, BUSY, ...): try again later
//   refused      any other HTTP 4xx (a bad token, a bad URL) or Redis refusing the command
//                (WRONGTYPE, ...): the same request will be refused again
//
// A Redis error reply to one command of a pipeline comes back inside its 200 answer, as the REST
// protocol has it, so that callers can keep per-command errors; RestRedis turns it into a refusal
// when they do not.

export type RedisFailure = 'unavailable' | 'refused';

export class RedisRequestError extends Error {
  constructor(
    readonly failure: RedisFailure,
    /** The HTTP status, or null when no answer came. */
    readonly status: number | null,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RedisRequestError';
  }
}

/** How a failed Redis call failed; null when the error did not come from talking to Redis. */
export function redisFailureOf(error: unknown): { failure: RedisFailure; message: string } | null {
  if (error instanceof RedisRequestError) return { failure: error.failure, message: error.message };
  return null;
}

/** Error replies that pass with time (out of memory, loading, busy script, failover). */
const TRANSIENT_CODES = new Set([
  'OOM',
  'LOADING',
  'BUSY',
  'TRYAGAIN',
  'CLUSTERDOWN',
  'MASTERDOWN',
  'READONLY',
]);

/** Whether a Redis error reply may succeed if sent again later; its first word is the error code. */
export function isTransientReply(reply: string): boolean {
  return TRANSIENT_CODES.has(reply.split(' ', 1)[0]!);
}

export interface RequestStats {
  requests: number;
  /** Commands sent: a pipeline or transaction counts each of its commands, as Upstash bills. */
  commands: number;
  failures: number;
  /** Status of the latest answer; null before the first or when the latest got none. */
  lastStatus: number | null;
}

export interface RequesterOptions {
  url: string;
  token: string;
  /** Attempts after the first when no answer came at all (never after an answer). */
  retries: number;
  retryDelayMs: number;
  /** Bound on each attempt; streaming requests are bounded only by their own signal. */
  timeoutMs?: number;
  /** How requests go out; the global fetch unless told otherwise. */
  transport?: Transport;
}

/**
 * The little of HTTP the requester needs, so that a runtime can bring its own client: the Worker
 * and the tests use fetch; the agent uses node:http, because the first touch of Node's fetch
 * compiles its WebAssembly HTTP parser, some 30 MB of memory at start for a client the agent
 * otherwise never needs. A transport rejects when no answer comes (a lost connection, the
 * signal's abort) and resolves with any answer, whatever its status.
 */
export type Transport = (url: string, request: TransportRequest) => Promise<TransportAnswer>;

export interface TransportRequest {
  method: 'POST';
  headers: Record<string, string>;
  body: string;
  signal?: AbortSignal | undefined;
}

export interface TransportAnswer {
  status: number;
  statusText: string;
  header(name: string): string | null;
  /** The whole body; rejects when the connection drops or the signal aborts before its end. */
  text(): Promise<string>;
  /** The body as it arrives, for a stream of server-sent events. */
  chunks(): AsyncIterable<Uint8Array>;
}

const fetchTransport: Transport = async (url, request) => {
  const res = await fetch(url, request);
  return {
    status: res.status,
    statusText: res.statusText,
    header: (name) => res.headers.get(name),
    text: () => res.text(),
    chunks: () => chunksOf(res.body),
  };
};

async function* chunksOf(body: ReadableStream<Uint8Array> | null): AsyncIterable<Uint8Array> {
  if (!body) return;
  const reader = body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    yield value;
  }
}

export function restRequester(options: RequesterOptions): Requester & { stats: RequestStats } {
  const base = options.url.replace(/\/$/, '');
  const transport = options.transport ?? fetchTransport;
  const stats: RequestStats = { requests: 0, commands: 0, failures: 0, lastStatus: null };
  const requester = {
    stats,
    // Upstash's read-your-writes token: sent back on each request so a replica answering later
    // requests of this client has seen its earlier writes.
    upstashSyncToken: '',
    readYourWrites: true,

    async request<TResult>(req: UpstashRequest): Promise<UpstashResponse<TResult>> {
      const path = req.path ?? [];
      const batched = path[0] === 'pipeline' || path[0] === 'multi-exec';
      stats.requests += 1;
      stats.commands += batched && Array.isArray(req.body) ? req.body.length : 1;
      try {
        const res = await send(`${[base, ...path].join('/')}`, req);
        stats.lastStatus = res.status;
        if (requester.readYourWrites) {
          requester.upstashSyncToken = res.header('upstash-sync-token') ?? requester.upstashSyncToken;
        }
        if (req.isStreaming && req.onMessage && isOk(res.status)) {
          streamMessages(res.chunks(), req.onMessage);
          return { result: 1 as TResult };
        }
        return await readAnswer<TResult>(res, batched);
      } catch (error) {
        stats.failures += 1;
        if (error instanceof RedisRequestError) throw error;
        stats.lastStatus = null;
        throw new RedisRequestError('unavailable', null, `Redis did not answer: ${reason(error)}`, {
          cause: error,
        });
      }
    },
  };

  async function send(url: string, req: UpstashRequest): Promise<TransportAnswer> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${options.token}`,
      'content-type': 'application/json',
      ...req.headers,
    };
    if (requester.readYourWrites && requester.upstashSyncToken) {
      headers['upstash-sync-token'] = requester.upstashSyncToken;
    }
    const body = JSON.stringify(req.body);
    for (let attempt = 0; ; attempt++) {
      const signal = req.isStreaming
        ? req.signal
        : combine(req.signal, options.timeoutMs ? AbortSignal.timeout(options.timeoutMs) : undefined);
      try {
        return await transport(url, { method: 'POST', headers, body, signal });
      } catch (error) {
        // A caller's own abort ends the request; only a lost connection or a timeout is retried.
        if (attempt >= options.retries || req.signal?.aborted) throw error;
        await new Promise((r) => setTimeout(r, options.retryDelayMs));
      }
    }
  }

  return requester;
}

async function readAnswer<TResult>(
  res: TransportAnswer,
  batched: boolean,
): Promise<UpstashResponse<TResult>> {
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const replyError =
    body !== null && typeof body === 'object' && 'error' in body ? String(body.error) : undefined;
  if (!isOk(res.status)) {
    const detail = replyError ?? (text.slice(0, 200) || res.statusText);
    if (res.status === 429 || res.status >= 500 || (replyError && isTransientReply(replyError))) {
      throw new RedisRequestError('unavailable', res.status, `Redis answered HTTP ${res.status}: ${detail}`);
    }
    throw new RedisRequestError(
      'refused',
      res.status,
      replyError && res.status === 400 ? replyError : `Redis answered HTTP ${res.status}: ${detail}`,
    );
  }
  if (batched) {
    if (!Array.isArray(body)) throw notProtocol(res.status, text);
    // One transient reply fails the request as a whole: sent again later, all of it may pass.
    for (const item of body as UpstashResponse<unknown>[]) {
      if (item?.error !== undefined && isTransientReply(String(item.error))) {
        throw new RedisRequestError('unavailable', res.status, `Redis answered: ${item.error}`);
      }
    }
    return body as UpstashResponse<TResult>;
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw notProtocol(res.status, text);
  if (replyError !== undefined) {
    throw new RedisRequestError(
      isTransientReply(replyError) ? 'unavailable' : 'refused',
      res.status,
      replyError,
    );
  }
  if (!('result' in body)) throw notProtocol(res.status, text);
  return body as UpstashResponse<TResult>;
}

function notProtocol(status: number, text: string): RedisRequestError {
  // Something between us and Redis (a proxy, a captive portal) answered in its place.
  return new RedisRequestError(
    'unavailable',
    status,
    `the Redis REST endpoint answered HTTP ${status} with something else than the REST protocol: ${text.slice(0, 120)}`,
  );
}

const isOk = (status: number) => status >= 200 && status < 300;

function streamMessages(chunks: AsyncIterable<Uint8Array>, onMessage: (data: string) => void): void {
  const decoder = new TextDecoder();
  let buffer = '';
  void (async () => {
    try {
      for await (const value of chunks) {
        buffer += decoder.decode(value, { stream: true });
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const line of lines) if (line.startsWith('data: ')) onMessage(line.slice('data: '.length));
      }
    } catch {
      // The stream ends when its signal aborts or the connection drops; the subscriber resubscribes.
    }
  })();
}

function combine(a: AbortSignal | undefined, b: AbortSignal | undefined): AbortSignal | undefined {
  if (!a || !b) return a ?? b;
  return AbortSignal.any([a, b]);
}

function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `${error.message}${cause}`;
}

/**
 * @upstash/redis over our requester. The client's requester constructor takes no options, so the
 * ones the store relies on are set here, explicitly: values come back as the strings Redis holds
 * (the store parses them with its schemas), no auto-pipelining (each store call decides what
 * shares a request) and no telemetry headers.
 */
export class RestRedis extends Redis {
  constructor(readonly requester: Requester & { stats: RequestStats }) {
    super(requester);
    this.opts = { automaticDeserialization: false };
    this.enableAutoPipelining = false;
    this.enableTelemetry = false;
    const pipeline = this.pipeline;
    const multi = this.multi;
    this.pipeline = () => refusalsTyped(pipeline());
    this.multi = () => refusalsTyped(multi());
  }

  get stats(): RequestStats {
    return this.requester.stats;
  }
}

type Batch = ReturnType<Redis['pipeline']>;

/**
 * A pipeline whose refused commands fail it with a RedisRequestError carrying Redis's reply, as a
 * single command's do. (The client's own error names only the failed command's position; with
 * `keepErrors` the replies are handed back as they came.)
 */
function refusalsTyped<T extends Batch>(batch: T): T {
  const exec = batch.exec;
  const typed = async (options?: { keepErrors: true }) => {
    if (options?.keepErrors) return exec(options);
    const replies = await exec({ keepErrors: true });
    const refused = replies.find((reply) => reply.error !== undefined && reply.error !== null);
    if (refused) throw new RedisRequestError('refused', 200, String(refused.error));
    return replies.map((reply) => reply.result);
  };
  batch.exec = typed as Batch['exec'];
  return batch;
}
