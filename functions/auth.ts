import type { MiddlewareHandler } from 'hono';
import { type AppEnv, tokenBindings } from './env.ts';
import { apiError } from './errors.ts';

// Bearer auth: API_TOKEN may read and write, READ_TOKEN may only read (GET and HEAD). Each binding
// may hold two values at once so a token can be rotated without downtime.

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export const requireToken: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { write, read } = tokenBindings(c.env);
  const header = c.req.header('authorization') ?? '';
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  if (!match) {
    throw apiError(401, 'unauthorized', 'send "Authorization: Bearer <token>" with API_TOKEN or READ_TOKEN', {
      hint: header ? 'the Authorization header is not a Bearer token' : 'no Authorization header',
    });
  }
  const presented = match[1]!;
  let access: 'read' | 'write' | null = null;
  // Every candidate is compared, so the time taken does not say which one matched.
  for (const t of write) if ((await sameSecret(presented, t)) && access === null) access = 'write';
  for (const t of read) if ((await sameSecret(presented, t)) && access === null) access = 'read';
  if (access === null) throw apiError(401, 'unauthorized', 'the bearer token is not valid');
  if (access === 'read' && !READ_METHODS.has(c.req.method)) {
    throw apiError(403, 'forbidden', `the read-only token cannot ${c.req.method}; use API_TOKEN`);
  }
  c.set('access', access);
  await next();
};

/**
 * Compares two secrets in time that depends on neither: both are hashed first, so even their
 * lengths do not show, and the digests are compared without an early exit.
 */
export async function sameSecret(a: string, b: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [x, y] = await Promise.all([
    crypto.subtle.digest('SHA-256', encoder.encode(a)),
    crypto.subtle.digest('SHA-256', encoder.encode(b)),
  ]);
  const left = new Uint8Array(x);
  const right = new Uint8Array(y);
  let diff = 0;
  for (let i = 0; i < left.length; i++) diff |= left[i]! ^ right[i]!;
  return diff === 0;
}
