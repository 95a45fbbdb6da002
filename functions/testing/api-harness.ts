import { startTestBackend, type TestBackend } from '../../test/support/backend.ts';
import { app } from '../app.ts';
import type { Bindings } from '../env.ts';
import { sign } from '../webhooks/signature.ts';

// Route tests call the real app through `app.request()` with bindings that point at a real
// redis-server behind our gateway, so every handler runs against the real store and client.

export const TOKENS = { write: 'write-token-a', writeNext: 'write-token-b', read: 'read-token' } as const;
export const WEBHOOK_SECRET = `whsec_${btoa('a webhook key of 24 bytes')}`;

export interface ApiHarness {
  backend: TestBackend;
  env: Bindings;
  /** A request with the write token (or `token`), JSON body when given. */
  call(method: string, path: string, options?: CallOptions): Promise<ApiAnswer>;
  /** A raw request: full control of headers and body. */
  raw(path: string, init: RequestInit, env?: Bindings): Promise<Response>;
  /** A signed webhook delivery. */
  webhook(path: string, body: string, options?: WebhookOptions): Promise<ApiAnswer>;
  close(): Promise<void>;
}

export interface CallOptions {
  body?: unknown;
  token?: string | null;
}

export interface WebhookOptions {
  contentType?: string;
  id?: string;
  timestamp?: number;
  secret?: string;
  signature?: string;
}

export interface ApiAnswer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read answers field by field
  body: any;
  headers: Headers;
}

let deliveries = 0;

export async function startApiHarness(): Promise<ApiHarness> {
  const backend = await startTestBackend();
  const env: Bindings = {
    UPSTASH_REDIS_REST_URL: backend.gatewayUrl,
    UPSTASH_REDIS_REST_TOKEN: backend.token,
    API_TOKEN: `${TOKENS.write}, ${TOKENS.writeNext}`,
    READ_TOKEN: TOKENS.read,
    WEBHOOK_SECRET,
  };
  const raw = (path: string, init: RequestInit, bindings: Bindings = env) =>
    Promise.resolve(app.request(path, init, bindings));
  const answer = async (res: Response): Promise<ApiAnswer> => {
    const text = await res.text();
    let body: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json')) body = JSON.parse(text);
    return { status: res.status, body, headers: res.headers };
  };
  return {
    backend,
    env,
    raw,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = {};
      const token = options.token === undefined ? TOKENS.write : options.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let body: string | undefined;
      if (options.body !== undefined) {
        headers['content-type'] = 'application/json';
        body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      }
      return answer(await raw(path, { method, headers, body }));
    },
    async webhook(path, body, options = {}) {
      const id = options.id ?? `msg-${process.pid}-${++deliveries}`;
      const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
      const signature =
        options.signature ?? `v1,${await sign(options.secret ?? WEBHOOK_SECRET, id, timestamp, body)}`;
      const res = await raw(path, {
        method: 'POST',
        headers: {
          'content-type': options.contentType ?? 'application/json',
          'webhook-id': id,
          'webhook-timestamp': timestamp,
          'webhook-signature': signature,
        },
        body,
      });
      return answer(res);
    },
    close: () => backend.close(),
  };
}

/** Every key and its value (by type), to prove a request changed nothing. */
export async function snapshot(backend: TestBackend): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let cursor = '0';
  const keys: string[] = [];
  do {
    const [next, found] = await backend.redis.scan(cursor, { count: 1000 });
    cursor = String(next);
    keys.push(...found.map(String));
  } while (cursor !== '0');
  for (const key of keys.sort()) {
    const type = await backend.redis.type(key);
    if (type === 'string') out[key] = String(await backend.redis.get(key));
    else if (type === 'set') out[key] = JSON.stringify((await backend.redis.smembers(key)).sort());
    else if (type === 'zset')
      out[key] = JSON.stringify(await backend.redis.zrange(key, 0, -1, { withScores: true }));
    else out[key] = type;
  }
  return out;
}
