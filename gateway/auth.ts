import { createHash, timingSafeEqual } from 'node:crypto';

// Bearer tokens, compared in constant time. Both sides are hashed first so the comparison also
// takes the same time whatever the length of what was presented.

export type Role = 'read-write' | 'read-only';

export class TokenChecker {
  private readonly readWrite: Buffer;
  private readonly readOnly: Buffer | null;

  constructor(token: string, readOnlyToken?: string) {
    this.readWrite = digest(token);
    this.readOnly = readOnlyToken ? digest(readOnlyToken) : null;
  }

  /** The role a presented token (see presentedToken) grants, or null when it is missing or wrong. */
  check(presented: string | null): Role | null {
    if (!presented) return null;
    const hash = digest(presented);
    // Always run both comparisons, so which token matched does not show in the timing either.
    const isReadWrite = timingSafeEqual(hash, this.readWrite);
    const isReadOnly = this.readOnly !== null && timingSafeEqual(hash, this.readOnly);
    if (isReadWrite) return 'read-write';
    return isReadOnly ? 'read-only' : null;
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** The token a request presents (`Authorization: Bearer T`, else `?_token=T`), or null. */
export function presentedToken(authorization: string | undefined, queryToken: string | null): string | null {
  if (authorization === undefined) return queryToken || null;
  if (authorization.length < 7 || authorization.slice(0, 7).toLowerCase() !== 'bearer ') return null;
  return authorization.slice(7).trim() || null;
}
