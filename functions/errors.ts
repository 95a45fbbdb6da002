import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { redisFailureOf } from '../shared/redis-requester.ts';
import { ConfigKeyError } from '../shared/store/config-version.ts';

// One error envelope for every failure: `{"error": {"type", "message", ...details}}`. Handlers
// throw `apiError(...)`; `onError` turns anything thrown into the envelope, so a stack trace or an
// HTML error page never reaches a client.

export function apiError(
  status: ContentfulStatusCode,
  type: string,
  message: string,
  details: Record<string, unknown> = {},
): HTTPException {
  const res = new Response(JSON.stringify({ error: { ...details, type, message } }), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });
  return new HTTPException(status, { res, message });
}

// Hono's own exceptions (malformed JSON from its validator, say) carry only a status and a
// message; these names give them a type.
const typeByStatus: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'too_large',
  415: 'unsupported_media_type',
  422: 'validation',
};

export function onError(error: Error, c: Context): Response {
  if (error instanceof HTTPException) {
    if (error.res) return error.res;
    const status = error.status as ContentfulStatusCode;
    return c.json(
      { error: { type: typeByStatus[status] ?? 'error', message: error.message || 'request failed' } },
      status,
    );
  }
  if (error instanceof ConfigKeyError) {
    return c.json({ error: { type: 'redis_error', message: error.message, key: error.key } }, 500);
  }
  const failure = redisFailureOf(error);
  if (failure?.failure === 'refused') {
    // Redis answered, with an error: a key holding another type (written by hand), say. Retrying
    // will not help, so this is no outage.
    const message = `Redis refused a command: ${failure.message.slice(0, 200)}`;
    return c.json({ error: { type: 'redis_error', message } }, 500);
  }
  if (failure?.failure === 'unavailable') {
    // Redis (or the gateway in front of it) not answering is an outage, not a bug in the request.
    return c.json({ error: { type: 'redis_unavailable', message: 'Redis did not answer; try again' } }, 503);
  }
  console.error('unhandled error', error);
  return c.json({ error: { type: 'internal', message: 'internal error' } }, 500);
}

export function onNotFound(c: Context): Response {
  return c.json({ error: { type: 'not_found', message: `no route for ${c.req.method} ${c.req.path}` } }, 404);
}
