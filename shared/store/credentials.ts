import { type AclFlavour, agentAclRules, agentUserName } from '../agent-acl.ts';
import type { KeySchema } from '../keys.ts';
import type { RedisClient } from './context.ts';

// An agent's own Redis user and its REST token, made the way Upstash makes them (and our gateway
// answers the same): ACL GENTOKEN makes the token, ACL SETUSER sets it as the user's only password
// along with the agent's rules. Creating and rotating are the same call: SETUSER starts from
// `reset`, so the old token stops working the moment the new one is set. The token itself is
// never stored; what is kept is when the user was made and which form of the rules it got.

export interface CredentialInfo {
  agent: string;
  /** the Redis ACL user */
  user: string;
  created_at: string;
  /** redis7: read/write key permissions and selectors; redis6: plain key patterns (see README) */
  acl: AclFlavour;
}

type AclClient = Pick<RedisClient, 'exec' | 'get' | 'set' | 'del'>;

/** Redis (or Upstash) would not take the Redis 7 rule forms: `%R~`, `%W~` or a selector. */
function isRuleSyntaxError(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /syntax|selector|modifier|unknown|not supported|invalid/i.test(message);
}

export function credentialStore(context: { redis: AclClient; keys: KeySchema }) {
  const { redis, keys } = context;
  const userOf = (agent: string) => agentUserName(agent, keys.prefix);

  return {
    /** Makes or remakes the agent's user; the token is returned here once and kept nowhere. */
    async issue(agent: string, now = new Date()): Promise<{ token: string; info: CredentialInfo }> {
      const user = userOf(agent);
      const token = String(await redis.exec(['ACL', 'GENTOKEN', user]));
      let acl: AclFlavour = 'redis7';
      const setUser = (flavour: AclFlavour) =>
        redis.exec([
          'ACL',
          'SETUSER',
          user,
          ...agentAclRules(agent, token, { prefix: keys.prefix, flavour }),
        ]);
      try {
        await setUser('redis7');
      } catch (error) {
        // A server with only 6.2-style ACLs: the narrower form it can hold, with its residual risk.
        if (!isRuleSyntaxError(error)) throw error;
        acl = 'redis6';
        await setUser('redis6');
      }
      const info: CredentialInfo = { agent, user, created_at: now.toISOString(), acl };
      await redis.set(keys.agentCredential(agent), JSON.stringify(info));
      return { token, info };
    },

    /** Deletes the user, which ends its connections and tokens at once; false when there was none. */
    async revoke(agent: string): Promise<boolean> {
      const removed = Number(await redis.exec(['ACL', 'DELUSER', userOf(agent)]));
      const forgotten = Number(await redis.del(keys.agentCredential(agent)));
      return removed > 0 || forgotten > 0;
    },

    /** What is known of the agent's credential, or null when it has none (the user does not exist). */
    async get(agent: string): Promise<CredentialInfo | null> {
      const user = userOf(agent);
      const exists = await redis.exec(['ACL', 'GETUSER', user]);
      if (exists === null || exists === undefined) return null;
      const raw = await redis.get<string>(keys.agentCredential(agent));
      let stored: Partial<CredentialInfo> = {};
      try {
        stored = raw ? (JSON.parse(raw) as Partial<CredentialInfo>) : {};
      } catch {
        // A value written by hand: the user exists, its time is unknown.
      }
      return {
        agent,
        user,
        created_at: typeof stored.created_at === 'string' ? stored.created_at : 'unknown',
        acl: stored.acl === 'redis6' ? 'redis6' : 'redis7',
      };
    },
  };
}
