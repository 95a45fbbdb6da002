import type { Context } from 'hono';
import { type CidrBlock, parseCidr } from '../shared/ip.ts';
import { RestRedis, restRequester } from '../shared/redis-requester.ts';
import { createStore, type Store } from '../shared/store.ts';
import { apiError } from './errors.ts';

// The one place the Worker's bindings are read and checked. Each part of the app asks only for
// what it needs, so a Worker without WEBHOOK_SECRET still serves everything but webhooks, and
// /v1/health needs nothing but Redis. A missing binding is a server misconfiguration: 500 naming it.

export interface Bindings {
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  /** Read-write bearer token(s): one, or two separated by space or comma while rotating. */
  API_TOKEN?: string;
  /** Read-only bearer token(s), same form. */
  READ_TOKEN?: string;
  /** Standard Webhooks secret, `whsec_<base64 key>`; several space-separated while rotating. */
  WEBHOOK_SECRET?: string;
  /** Namespace prefix for every key, so deployments can share a database. */
  KEY_PREFIX?: string;
  /** CIDR blocks (space or comma separated) that on-demand measurements may target; unset: any. */
  MEASURE_ALLOW?: string;
  /** Measurements one token may ask for per minute (default 30). */
  MEASURE_RATE_PER_MINUTE?: string;
  /** "true" only in local development: measurements may target loopback (the demo's targets). */
  MEASURE_ALLOW_LOOPBACK?: string;
  /** "true" only in local development: notifiers may use http and private or loopback addresses. */
  ALERT_ALLOW_LOCAL?: string;
  /** Seconds before the first retry of a failed notification at a later invocation (default 60). */
  ALERT_RETRY_BASE_S?: string;
}

export type AppEnv = {
  Bindings: Bindings;
  /** `tokenDigest`: SHA-256 of the bearer token that authenticated the request (auth.ts). */
  Variables: { store?: Store; access?: 'read' | 'write'; tokenDigest?: ArrayBuffer };
};
export type AppContext = Context<AppEnv>;

function required(env: Bindings | undefined, name: keyof Bindings): string {
  const value = env?.[name]?.trim();
  if (!value) {
    throw apiError(
      500,
      'config',
      `the Worker binding ${name} is not set; add it with "wrangler secret put ${name}" (or to .dev.vars locally)`,
      { binding: name },
    );
  }
  return value;
}

function configError(name: keyof Bindings, problem: string): never {
  throw apiError(500, 'config', `the Worker binding ${name} ${problem}`, { binding: name });
}

/** Splits a binding holding one or two values (rotation) by spaces or commas. */
function splitValues(raw: string): string[] {
  return raw.split(/[\s,]+/).filter((v) => v.length > 0);
}

export function tokenBindings(env: Bindings | undefined): { write: string[]; read: string[] } {
  const write = splitValues(required(env, 'API_TOKEN'));
  const read = env?.READ_TOKEN?.trim() ? splitValues(env.READ_TOKEN) : [];
  return { write, read };
}

export function webhookSecretBinding(env: Bindings | undefined): string[] {
  const secrets = splitValues(required(env, 'WEBHOOK_SECRET'));
  for (const s of secrets) {
    if (!/^whsec_[A-Za-z0-9+/]+={0,2}$/.test(s) || !decodes(s.slice('whsec_'.length))) {
      configError('WEBHOOK_SECRET', 'must be "whsec_" followed by a base64 key');
    }
  }
  return secrets;
}

/** What confines on-demand measurements: the target blocks (null: any), loopback (dev only) and
 * the per-token rate. */
export function measureBindings(env: Bindings | undefined): {
  allow: CidrBlock[] | null;
  allowLoopback: boolean;
  perMinute: number;
} {
  const raw = env?.MEASURE_ALLOW?.trim();
  const allow = raw
    ? splitValues(raw).map((text) => {
        const block = parseCidr(text.includes('/') ? text : `${text}/${text.includes(':') ? 128 : 32}`);
        if (!block) configError('MEASURE_ALLOW', `holds "${text}", which is not a CIDR block`);
        return block;
      })
    : null;
  const rate = env?.MEASURE_RATE_PER_MINUTE?.trim();
  if (rate && !/^[1-9][0-9]{0,6}$/.test(rate)) {
    configError('MEASURE_RATE_PER_MINUTE', `must be a whole number from 1 to 9999999, not "${rate}"`);
  }
  const loopback = env?.MEASURE_ALLOW_LOOPBACK?.trim() ?? '';
  if (loopback !== '' && loopback !== 'true' && loopback !== 'false') {
    configError('MEASURE_ALLOW_LOOPBACK', `must be "true" or "false", not "${loopback}"`);
  }
  return { allow, allowLoopback: loopback === 'true', perMinute: rate ? Number(rate) : 30 };
}

/** What confines alert notifications: local targets allowed (dev only) and the retry backoff. */
export function alertBindings(env: Bindings | undefined): { allowLocal: boolean; retryBaseMs: number } {
  const local = env?.ALERT_ALLOW_LOCAL?.trim() ?? '';
  if (local !== '' && local !== 'true' && local !== 'false') {
    configError('ALERT_ALLOW_LOCAL', `must be "true" or "false", not "${local}"`);
  }
  const base = env?.ALERT_RETRY_BASE_S?.trim();
  if (base && !/^[1-9][0-9]{0,4}$/.test(base)) {
    configError('ALERT_RETRY_BASE_S', `must be a whole number of seconds from 1 to 99999, not "${base}"`);
  }
  return { allowLocal: local === 'true', retryBaseMs: (base ? Number(base) : 60) * 1000 };
}

/** The pattern lets through a few strings atob refuses ("abcde"); those would otherwise be a 500. */
function decodes(base64: string): boolean {
  try {
    return atob(base64).length > 0;
  } catch {
    return false;
  }
}

function redisBindings(env: Bindings | undefined): { url: string; token: string; prefix: string } {
  const url = required(env, 'UPSTASH_REDIS_REST_URL');
  if (!/^https?:\/\/[^\s]+$/.test(url))
    configError('UPSTASH_REDIS_REST_URL', `is not an http(s) URL: "${url}"`);
  const token = required(env, 'UPSTASH_REDIS_REST_TOKEN');
  const prefix = env?.KEY_PREFIX?.trim() ?? '';
  if (!/^[A-Za-z0-9:._-]*$/.test(prefix)) {
    configError('KEY_PREFIX', 'may hold only letters, digits, ":", ".", "_" and "-"');
  }
  return { url, token, prefix };
}

/**
 * The request's store. Env arrives per request on Workers, so there is no module-level client;
 * the client is made once per request (it holds no connection, only fetch settings).
 */
export function storeOf(c: AppContext): Store {
  const existing = c.get('store');
  if (existing) return existing;
  const store = storeFromBindings(c.env);
  c.set('store', store);
  return store;
}

/** A store over the bindings' Redis, for entry points without a request (the scheduled handler). */
export function storeFromBindings(env: Bindings | undefined): Store {
  const { url, token, prefix } = redisBindings(env);
  // Values are JSON and IP strings, valid UTF-8 by construction, so the requester asks for plain
  // JSON answers, not base64 (a third more bytes and a decode per value: 3,000 for one check).
  // One quick retry when no answer came covers a dropped keep-alive connection without holding a
  // request for seconds; no timeout of our own: the Workers runtime bounds the request.
  const redis = new RestRedis(restRequester({ url, token, retries: 1, retryDelayMs: 50 }));
  return createStore(redis, { prefix });
}
