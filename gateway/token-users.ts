import { createHash, randomBytes } from 'node:crypto';
import { RedisPool } from './redis-pool.ts';
import type { RedisTarget } from './redis-url.ts';
import { RedisErrorReply, type Reply } from './resp-parser.ts';

// Tokens of Redis ACL users, as Upstash hands them out with ACL GENTOKEN: one gateway serves many
// users. A user token names its user and is itself the user's password in Redis, so the gateway
// keeps no table of its own: Redis's ACL is the one record, a token survives a gateway restart,
// and a rotated or deleted user's token stops working as soon as Redis stops accepting it.
//
// A token is accepted when Redis's ACL holds it: ACL GETUSER (on the gateway's own connections)
// lists the SHA-256 of every password of the user, and the user must be on and not `nopass` (which
// would accept any token naming it). Its commands then run on connections that logged in as that
// user (AUTH user token), so Redis itself applies the user's rules to each of them.

const TOKEN_MARK = 'pau1';
/** Verified tokens are checked against Redis again this often, for changes made around the gateway. */
const DEFAULT_RECHECK_MS = 30_000;
const MIN_PASSWORD_LENGTH = 20;
/** A refused token is answered from memory this long: a misconfigured agent retrying costs Redis
 * one ACL GETUSER per this, not one per request. Changes through the gateway end it at once. */
const REFUSED_FOR_MS = 10_000;
/** A verified token not used for this long loses its session and Redis connection: a token
 * rotated around the gateway (redis-cli) is never presented again to be found refused. */
const IDLE_SESSION_MS = 10 * 60_000;
/** At most this many refused tokens are remembered; the oldest go first. */
const MAX_REFUSED = 10_000;

export interface UserSession {
  user: string;
  /** Connections logged in as the user. */
  pool: RedisPool;
  /** How to reach Redis as the user (subscriptions dial their own connection). */
  target: RedisTarget;
}

/** A user token for `user`: a new random secret, or the caller's own password wrapped. */
export function makeUserToken(user: string, password?: string): string {
  if (password !== undefined && password.length < MIN_PASSWORD_LENGTH) {
    throw new Error(
      `ERR the password is too weak to be a token: give at least ${MIN_PASSWORD_LENGTH} random characters, or none to have one made`,
    );
  }
  const secret = password ?? randomBytes(32).toString('base64url');
  return `${TOKEN_MARK}.${Buffer.from(user).toString('base64url')}.${secret}`;
}

/** The user a token names, or null when it is not a user token. */
export function userOfToken(token: string): string | null {
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  if (first < 0 || second < 0 || token.slice(0, first) !== TOKEN_MARK || second === token.length - 1) {
    return null;
  }
  const user = Buffer.from(token.slice(first + 1, second), 'base64url').toString();
  return user === '' || /[\s\0]/.test(user) ? null : user;
}

/** What ACL GETUSER says of a user, as far as accepting a password goes. */
export interface UserRecord {
  on: boolean;
  nopass: boolean;
  /** SHA-256 hex of each password */
  passwords: string[];
}

/** ACL GETUSER's reply (RESP2: name, value, name, value, ...) read; null for no such user. */
export function readUserRecord(reply: Reply): UserRecord | null {
  if (!Array.isArray(reply)) return null;
  const field = (name: string): Reply | undefined => {
    for (let i = 0; i + 1 < reply.length; i += 2) if (reply[i] === name) return reply[i + 1];
    return undefined;
  };
  const flags = field('flags');
  const passwords = field('passwords');
  const list = (value: Reply | undefined) =>
    Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  return {
    on: list(flags).includes('on'),
    nopass: list(flags).includes('nopass'),
    passwords: list(passwords),
  };
}

function passwordHash(password: string): string {
  return createHash('sha256').update(password).digest('hex');
}

/** True when Redis would let `password` log in as the user this record describes. */
export function acceptsPassword(record: UserRecord | null, password: string): boolean {
  return record?.on === true && !record.nopass && record.passwords.includes(passwordHash(password));
}

interface Entry {
  session: UserSession;
  checkedAt: number;
}

export class TokenUsers {
  // Keyed by the token itself, which the session holds anyway (its password): no hash per request.
  private readonly verified = new Map<string, Entry>();
  private readonly checking = new Map<string, Promise<UserSession | null>>();
  private readonly refused = new Map<string, { user: string; until: number }>();
  private readonly recheckMs: number;
  private readonly idleMs: number;
  private sweptAt = Date.now();

  /**
   * `admin` runs ACL GETUSER; `target` is how the gateway reaches Redis, whose login user is never
   * served to a user token (nor `default`).
   */
  constructor(
    private readonly target: RedisTarget,
    private readonly admin: RedisPool,
    options: {
      recheckMs?: number;
      /** How long an unused verified token keeps its session (default IDLE_SESSION_MS). */
      idleSessionMs?: number;
      connectTimeoutMs: number;
      replyTimeoutMs: number;
      /** Told when a user's sessions are dropped, so whatever else it holds open can end too. */
      onForget?: (user: string) => void;
    },
    private readonly poolOf: (target: RedisTarget) => RedisPool = (t) =>
      new RedisPool(t, {
        sharedConnections: 1,
        maxDedicated: 2,
        connectTimeoutMs: options.connectTimeoutMs,
        replyTimeoutMs: options.replyTimeoutMs,
      }),
  ) {
    this.recheckMs = options.recheckMs ?? DEFAULT_RECHECK_MS;
    this.idleMs = Math.max(options.idleSessionMs ?? IDLE_SESSION_MS, this.recheckMs);
    this.onForget = options.onForget;
  }

  private readonly onForget: ((user: string) => void) | undefined;

  /** True for a user that no user token may act as: the gateway's own login, and `default`. */
  isReserved(user: string): boolean {
    return user === 'default' || user === (this.target.username ?? 'default');
  }

  /** The session of a presented user token, or null when it is not one Redis accepts now. */
  resolve(token: string): Promise<UserSession | null> {
    // A verified token was a user token of a user that may act: no need to read it again.
    const entry = this.verified.get(token);
    if (entry && Date.now() - entry.checkedAt < this.recheckMs) return Promise.resolve(entry.session);
    const user = userOfToken(token);
    if (user === null || this.isReserved(user)) return Promise.resolve(null);
    const refusal = this.refused.get(token);
    if (refusal && Date.now() < refusal.until) return Promise.resolve(null);
    this.sweepIdle();
    let pending = this.checking.get(token);
    if (!pending) {
      pending = this.check(user, token).finally(() => this.checking.delete(token));
      this.checking.set(token, pending);
    }
    return pending;
  }

  /**
   * Closes sessions idle past idleMs, at most once a minute. A token in use is checked
   * again every recheckMs, which renews its checkedAt, so an old checkedAt means an unused token.
   */
  private sweepIdle(): void {
    const now = Date.now();
    if (now - this.sweptAt < Math.min(60_000, this.idleMs)) return;
    this.sweptAt = now;
    for (const [token, entry] of this.verified) {
      if (now - entry.checkedAt <= this.idleMs) continue;
      entry.session.pool.close();
      this.verified.delete(token);
    }
  }

  /** Drops every session of `user` at once: its rules or passwords just changed. */
  forget(user: string): void {
    for (const [key, entry] of this.verified) {
      if (entry.session.user !== user) continue;
      entry.session.pool.close();
      this.verified.delete(key);
    }
    // Its token may be good now (a new password was just set): ask Redis again.
    for (const [key, refusal] of this.refused) if (refusal.user === user) this.refused.delete(key);
    this.onForget?.(user);
  }

  close(): void {
    for (const entry of this.verified.values()) entry.session.pool.close();
    this.verified.clear();
  }

  private async check(user: string, token: string): Promise<UserSession | null> {
    const reply = await this.admin.command(['ACL', 'GETUSER', user]);
    if (reply instanceof RedisErrorReply) throw new Error(reply.message);
    const entry = this.verified.get(token);
    if (!acceptsPassword(readUserRecord(reply), token)) {
      if (entry) this.forget(user);
      this.refused.delete(token);
      this.refused.set(token, { user, until: Date.now() + REFUSED_FOR_MS });
      if (this.refused.size > MAX_REFUSED) this.refused.delete(this.refused.keys().next().value!);
      return null;
    }
    this.refused.delete(token);
    if (entry) {
      entry.checkedAt = Date.now();
      return entry.session;
    }
    const target: RedisTarget = { ...this.target, username: user, password: token };
    const session: UserSession = { user, target, pool: this.poolOf(target) };
    this.verified.set(token, { session, checkedAt: Date.now() });
    return session;
  }
}
