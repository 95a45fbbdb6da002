import type { MiddlewareHandler } from 'hono';
import { type AppEnv, tokenBindings } from './env.ts';
import { apiError } from './errors.ts';

// Bearer auth: API_TOKEN may read and write, READ_TOKEN may only read (GET and HEAD). Each binding
// may hold two values at once so a token can be rotated without downtime.

/** The methods READ_TOKEN may use; router.ts documents the 403 on every other. */
export const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const requireToken: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { write, read } = tokenBindings(c.env);
  const header = c.req.header('authorization') ?? '';
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (!match) {
    throw apiError(401, 'unauthorized', 'send "Authorization: Bearer <token>" with API_TOKEN or READ_TOKEN', {
      hint: header ? 'the Authorization header is not a Bearer token' : 'no Authorization header',
    });
  }
  // Every candidate is compared, so the time taken does not say which one matched.
  const [presented, ...candidates] = await Promise.all([match[1]!, ...write, ...read].map(digestOf));
  let access: 'read' | 'write' | null = null;
  for (let i = 0; i < candidates.length; i++) {
    if (sameDigest(presented!, candidates[i]!) && access === null)
      access = i < write.length ? 'write' : 'read';
  }
  if (access === null) throw apiError(401, 'unauthorized', 'the bearer token is not valid');
  if (access === 'read' && !READ_METHODS.has(c.req.method)) {
    throw apiError(403, 'forbidden', `the read-only token cannot ${c.req.method}; use API_TOKEN`);
  }
  c.set('access', access);
  c.set('tokenDigest', presented!);
  await next();
};

/**
 * Secrets are compared by their SHA-256 digests, so even their lengths do not show in the time a
 * comparison takes; the presented token is hashed once, however many tokens it is compared with.
 */
function digestOf(secret: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest('SHA-256', new TextEncoder().encode(secret));
}

/** Compares two digests without an early exit. */
function sameDigest(x: ArrayBuffer, y: ArrayBuffer): boolean {
  const left = new Uint8Array(x);
  const right = new Uint8Array(y);
  let diff = 0;
  for (let i = 0; i < left.length; i++) diff |= left[i]! ^ right[i]!;
  return diff === 0;
}
