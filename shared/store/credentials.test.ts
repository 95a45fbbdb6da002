import { describe, expect, it } from 'vitest';
import { keySchema } from '../keys.ts';
import { credentialStore } from './credentials.ts';

// The fallback to the 6.2 rule form, against a stand-in for a server that refuses Redis 7's `%R~`
// and selectors the way Redis 6.2 does (the real-server paths are in gateway-acl-users.test.ts).

function server(refuse: RegExp | null) {
  const calls: string[][] = [];
  const values = new Map<string, string>();
  const redis = {
    async exec(command: string[]) {
      calls.push(command);
      if (command[1] === 'GENTOKEN') return 'pau1.x.secret';
      if (command[1] === 'SETUSER' && refuse && command.some((rule) => refuse.test(rule))) {
        throw new Error(
          `ERR Error in ACL SETUSER modifier '${command.find((r) => refuse.test(r))}': Syntax error`,
        );
      }
      return 'OK';
    },
    async set(key: string, value: string) {
      values.set(key, value);
      return 'OK';
    },
    async get(key: string) {
      return values.get(key) ?? null;
    },
    async del() {
      return 1;
    },
  };
  return { calls, values, redis: redis as never };
}

describe('credential store', () => {
  it('uses the Redis 7 rules where the server takes them', async () => {
    const s = server(null);
    const { info } = await credentialStore({ redis: s.redis, keys: keySchema() }).issue('a1');
    expect(info.acl).toBe('redis7');
    expect(s.calls.filter((c) => c[1] === 'SETUSER')).toHaveLength(1);
  });

  it('falls back to the 6.2 form when the server refuses %R~ or selectors, and records it', async () => {
    const s = server(/^%R~|^\(/);
    const { info, token } = await credentialStore({ redis: s.redis, keys: keySchema() }).issue('a1');
    expect(token).toBe('pau1.x.secret');
    expect(info.acl).toBe('redis6');
    const last = s.calls.at(-1)!;
    expect(last.slice(0, 3)).toEqual(['ACL', 'SETUSER', 'ping-agent.a1']);
    expect(last.some((r) => r.startsWith('%') || r.startsWith('('))).toBe(false);
    expect(JSON.parse(s.values.get('agent-credential_a1')!)).toMatchObject({ acl: 'redis6' });
    expect(s.values.get('agent-credential_a1')).not.toContain('secret');
  });

  it('passes on any other refusal', async () => {
    const s = server(/^reset$/);
    s.calls.length = 0;
    const redis = {
      ...(s.redis as object),
      async exec(command: string[]) {
        if (command[1] === 'SETUSER')
          throw new Error('NOPERM this user has no permissions to run the acl command');
        return 'pau1.x.secret';
      },
    };
    await expect(credentialStore({ redis: redis as never, keys: keySchema() }).issue('a1')).rejects.toThrow(
      /NOPERM/,
    );
  });
});
