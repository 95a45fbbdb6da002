import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './env.ts';
import { apiError } from './errors.ts';

// Request bodies are capped at 1 MB. The declared Content-Length is checked first (cheap refusal),
// then the stream is read with a running count, so a chunked body or a lying header cannot make
// the Worker buffer more than the limit. The text and the bytes are left in Hono's body cache for
// the handlers.

export const MAX_BODY_BYTES = 1024 * 1024;

const NO_BODY = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE']);

export const limitBody: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (NO_BODY.has(c.req.method) || c.req.raw.body === null) return next();
  const declared = c.req.header('content-length');
  if (declared !== undefined && Number(declared) > MAX_BODY_BYTES) {
    throw tooLarge(Number(declared));
  }
  const reader = c.req.raw.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => {});
      throw tooLarge(size);
    }
    parts.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.byteLength;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw apiError(400, 'invalid_request', 'the request body is not valid UTF-8');
  }
  // Hono keeps promises in its body cache (its type says otherwise); text(), json() read from it.
  // The bytes are kept as they came too: the decoder drops a leading byte-order mark, and a
  // webhook signature covers the body's bytes, BOM included.
  const cache = c.req.bodyCache as Record<string, unknown>;
  cache.text = Promise.resolve(text);
  cache.arrayBuffer = Promise.resolve(bytes.buffer);
  await next();
};

function tooLarge(size: number) {
  return apiError(413, 'too_large', `the request body is larger than ${MAX_BODY_BYTES} bytes`, {
    limit_bytes: MAX_BODY_BYTES,
    ...(Number.isFinite(size) ? { size_bytes: size } : {}),
  });
}

/** JSON routes: a body in another format would otherwise be silently read as empty. */
export const requireJson: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!NO_BODY.has(c.req.method)) {
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      throw apiError(
        415,
        'unsupported_media_type',
        'send the body as JSON with "Content-Type: application/json"',
        {
          content_type: type || null,
        },
      );
    }
  }
  await next();
};
