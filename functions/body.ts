import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from './env.ts';
import { apiError } from './errors.ts';

// Request bodies: at most 1 MB, and for JSON routes JSON in UTF-8. These run as route middleware
// (router.ts adds them to every route that declares a body), so a request is authenticated and
// routed before its body is read: an unknown caller learns nothing about body rules.

export const MAX_BODY_BYTES = 1024 * 1024;

/** Hono's limit: the declared Content-Length when there is one, else the bytes as they arrive. */
export const limitBody: MiddlewareHandler<AppEnv> = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: (c) => {
    const declared = Number(c.req.header('content-length'));
    throw apiError(413, 'too_large', `the request body is larger than ${MAX_BODY_BYTES} bytes`, {
      limit_bytes: MAX_BODY_BYTES,
      ...(Number.isFinite(declared) && declared > 0 ? { size_bytes: declared } : {}),
    });
  },
});

/** The media type of a Content-Type header, lower case without parameters; '' when absent. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]!.trim().toLowerCase();
}

/** JSON routes: a body in another format would otherwise be silently read as empty. */
export const jsonBody: MiddlewareHandler<AppEnv> = async (c, next) => {
  const type = mediaType(c.req.header('content-type'));
  if (type !== 'application/json') {
    throw apiError(
      415,
      'unsupported_media_type',
      'send the body as JSON with "Content-Type: application/json"',
      { content_type: type || null },
    );
  }
  // Read through Hono's cache, so the validator parses these same bytes.
  decodeUtf8(new Uint8Array(await c.req.arrayBuffer()));
  await next();
};

/**
 * The body as text; 400 when it is not UTF-8 (a decoder that replaces bad bytes would let them
 * reach a group as U+FFFD). A leading byte-order mark is dropped, as Request.text() does.
 */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw apiError(400, 'invalid_request', 'the request body is not valid UTF-8');
  }
}
