import { errors, Redis } from '@upstash/redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_ACCESS, agentAclRules } from '../shared/agent-acl.ts';
import { keySchema } from '../shared/keys.ts';
import { credentialStore } from '../shared/store/credentials.ts';
import { startTestBackend, type TestBackend } from '../test/support/backend.ts';
import { type Gateway, startGateway } from './start-gateway.ts';

// One gateway, many Redis ACL users: an agent's credential made through the gateway the way the
// API makes it (ACL GENTOKEN, ACL SETUSER), then every forbidden action tried with it through the
// real @upstash/redis client against a real redis-server, with the data checked unchanged.

const { UpstashError } = errors;
const keys = keySchema();
let backend: TestBackend;
let gateway: Gateway;
let port = 0;

async function startOwnGateway(): Promise<void> {
  gateway = await startGateway({
    redisUrl: backend.redisUrl,
    token: backend.token,
    readOnlyToken: backend.readOnlyToken,
    port,
  });
  port = gateway.port;
}

beforeAll(async () => {
  backend = await startTestBackend();
  await startOwnGateway();
});
afterAll(async () => {
  await gateway?.close();
  await backend?.close();
});

const admin = () =>
  new Redis({
    url: gateway.url,
    token: backend.token,
    automaticDeserialization: false,
    retry: false,
    enableTelemetry: false,
  });
const asToken = (token: string) =>
  new Redis({
    url: gateway.url,
    token,
    automaticDeserialization: false,
    retry: false,
    enableTelemetry: false,
  });
const credentials = () => credentialStore({ redis: admin(), keys });

async function seed(): Promise<void> {
  await backend.redis.flushdb();
  const p = backend.redis.pipeline();
  for (const agent of ['a1', 'a2']) {
    p.sadd(keys.agentList(), agent);
    p.set(keys.agentJob(agent, 'j'), JSON.stringify({ SPEC: '* * * * *', name: 'j', group: ['g'] }));
    p.sadd(keys.agentJobs(agent), 'j');
    p.set(keys.ipStatus(agent, '10.0.0.1'), '{"ip":"10.0.0.1"}');
    p.sadd(keys.agentErrList(agent), '10.0.0.9');
    p.set(keys.agentOnline(agent), '{}');
    p.set(keys.groupSummary(agent, 'g'), '{}');
    p.set(keys.ipMinuteBlock(agent, '10.0.0.1', 3), 'AAAA');
  }
  p.sadd(keys.group('g'), '10.0.0.1');
  p.sadd(keys.groupsList(), 'g');
  p.set(keys.configVersion(), '7');
  p.set(keys.groupDigest('g'), '1:abc');
  p.set(keys.webhookSeen('w1'), '1');
  await p.exec();
}

/** Every key with its value, read as the admin, to show that nothing changed. */
async function snapshot(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  let cursor = '0';
  do {
    const [next, found] = await backend.redis.scan(cursor, { count: 1000 });
    cursor = String(next);
    for (const key of found) {
      const type = await backend.redis.type(key);
      out[key] = type === 'set' ? (await backend.redis.smembers(key)).sort() : await backend.redis.get(key);
    }
  } while (cursor !== '0');
  return out;
}

const k = keys;
/** What an attacker holding agent a1's token tries; each must be refused. */
const FORBIDDEN: [what: string, command: (string | number)[]][] = [
  ["overwrite another agent's status", ['SET', k.ipStatus('a2', '10.0.0.1'), '{"ip":"10.0.0.1","err":null}']],
  ["delete another agent's status", ['DEL', k.ipStatus('a2', '10.0.0.1')]],
  ["read another agent's status", ['GET', k.ipStatus('a2', '10.0.0.1')]],
  ["fake another agent's heartbeat", ['SET', k.agentOnline('a2'), '{}']],
  ["empty another agent's err list", ['SREM', k.agentErrList('a2'), '10.0.0.9']],
  ["forge another agent's group summary", ['SET', k.groupSummary('a2', 'g'), '{}']],
  ["overwrite another agent's history", ['SET', k.ipMinuteBlock('a2', '10.0.0.1', 3), 'BBBB']],
  [
    "own status together with another agent's, in one MSET",
    ['MSET', k.ipStatus('a1', 'x'), '1', k.ipStatus('a2', 'x'), '1'],
  ],
  [
    'a job for another agent',
    ['SET', k.agentJob('a2', 'flood'), '{"SPEC":"* * * * * *","name":"flood","group":["g"]}'],
  ],
  ["list a job in another agent's job list", ['SADD', k.agentJobs('a2'), 'flood']],
  ["read another agent's jobs", ['SMEMBERS', k.agentJobs('a2')]],
  ['rewrite its own job', ['SET', k.agentJob('a1', 'j'), '{}']],
  ['add to its own job list', ['SADD', k.agentJobs('a1'), 'flood']],
  ['delete a group', ['DEL', k.group('g')]],
  ['add to a group', ['SADD', k.group('g'), '10.9.9.9']],
  ['unlist a group', ['SREM', k.groupsList(), 'g']],
  ['set the config version', ['SET', k.configVersion(), 'x']],
  ['bump the config version', ['INCR', k.configVersion()]],
  ['remove an agent from agent-list', ['SREM', k.agentList(), 'a2']],
  ['delete agent-list', ['DEL', k.agentList()]],
  ['forge a group digest', ['SET', k.groupDigest('g'), '0:0']],
  ['replay a webhook', ['DEL', k.webhookSeen('w1')]],
  ['read its own credential record', ['GET', k.agentCredential('a1')]],
  ['rename its key over a group', ['RENAME', k.ipStatus('a1', '10.0.0.1'), k.group('g')]],
  ['publish a config change', ['PUBLISH', k.configChannel(), '99']],
  ['list every key', ['KEYS', '*']],
  ['flush everything', ['FLUSHALL']],
  ['flush the database', ['FLUSHDB']],
  ['run a script', ['EVAL', "return redis.call('DEL', KEYS[1])", 1, k.group('g')]],
  ['run a read-only script', ['EVAL_RO', 'return 1', 0]],
  ['load a script', ['SCRIPT', 'LOAD', 'return 1']],
  ['call a function', ['FCALL', 'f', 0]],
  ['migrate keys away', ['MIGRATE', '127.0.0.1', 1, '', 0, 1000, 'KEYS', k.group('g')]],
  ['reconfigure Redis', ['CONFIG', 'SET', 'maxmemory', '1']],
  ['read the configuration', ['CONFIG', 'GET', '*']],
  ['restore a forged value', ['RESTORE', k.group('g'), 0, 'x', 'REPLACE']],
  ['debug', ['DEBUG', 'SLEEP', '0']],
  ['widen its own rights', ['ACL', 'SETUSER', 'ping-agent.a1', '+@all', '~*']],
  ['make a user', ['ACL', 'SETUSER', 'evil', 'on', '+@all', '~*']],
  ['make a token', ['ACL', 'GENTOKEN', 'ping-agent.a2']],
  ["ask another user's token", ['ACL', 'RESTTOKEN', 'ping-agent.a2', 'x']],
  ['list users', ['ACL', 'LIST']],
  ['delete a user', ['ACL', 'DELUSER', 'ping-agent.a2']],
  ['shut Redis down', ['SHUTDOWN', 'NOSAVE']],
];

/**
 * The same, generated for every key family of shared/keys.ts: writing another agent's key of any
 * family, and writing (or, for the API's own keys, reading) any key that is not the agent's own.
 */
function familyAttacks(): [string, (string | number)[]][] {
  const out: [string, (string | number)[]][] = [];
  for (const [family, access] of Object.entries(AGENT_ACCESS)) {
    if (access === 'subscribe') continue;
    const fn = k[family as keyof typeof AGENT_ACCESS] as (...parts: unknown[]) => string;
    const parts = (agent: string) => [agent, '10.0.0.1', 3].slice(0, fn.length);
    if (fn.length > 0) out.push([`SET another agent's ${family}`, ['SET', fn(...parts('a2')), 'x']]);
    if (access !== 'own-write') out.push([`SET ${family}`, ['SET', fn(...parts('a1')), 'x']]);
    if (access === 'none') out.push([`GET ${family}`, ['GET', fn(...parts('a1'))]]);
  }
  return out;
}

describe('an agent credential through the gateway', () => {
  let token: string;
  beforeAll(async () => {
    await seed();
    token = (await credentials().issue('a1')).token;
    await credentials().issue('a2');
  });

  it('is reported without its token, as Redis 7 rules', async () => {
    const info = await credentials().get('a1');
    expect(info).toMatchObject({ agent: 'a1', user: 'ping-agent.a1', acl: 'redis7' });
    expect(JSON.stringify(info)).not.toContain(token);
    expect(await credentials().get('nobody')).toBeNull();
  });

  it('does what an agent does', async () => {
    const redis = asToken(token);
    expect(await redis.smembers(k.agentJobs('a1'))).toEqual(['j']);
    expect(await redis.mget(k.agentJob('a1', 'j'))).toHaveLength(1);
    expect(await redis.smembers(k.group('g'))).toEqual(['10.0.0.1']);
    expect(await redis.sismember(k.groupsList(), 'g')).toBe(1);
    expect(await redis.get(k.configVersion())).toBe('7');
    expect(await redis.sadd(k.agentList(), 'a1')).toBe(0);
    await redis.set(k.agentOnline('a1'), '{"pid":1}', { ex: 30 });
    await redis.mset({ [k.ipStatus('a1', '10.0.0.2')]: '{}', [k.groupSummary('a1', 'g')]: '{}' });
    expect(await redis.sadd(k.agentErrList('a1'), '10.0.0.2')).toBe(1);
    expect(await redis.srem(k.agentErrList('a1'), '10.0.0.2')).toBe(1);
    expect(await redis.del(k.ipStatus('a1', '10.0.0.2'))).toBe(1);
    const p = redis.pipeline();
    p.smembers(k.agentErrList('a1'));
    p.scan(0, { match: `${k.ipStatus('a1', '')}*` });
    expect(await p.exec()).toHaveLength(2);
  });

  it('is refused every forbidden action, and nothing changes', async () => {
    const before = await snapshot();
    const redis = asToken(token);
    const allowed: string[] = [];
    expect(familyAttacks().length).toBeGreaterThan(Object.keys(AGENT_ACCESS).length);
    for (const [what, command] of [...FORBIDDEN, ...familyAttacks()]) {
      try {
        await redis.exec(command as [string, ...string[]]);
        allowed.push(what);
      } catch (error) {
        expect(error, what).toBeInstanceOf(UpstashError);
        expect((error as Error).message, what).toMatch(/NOPERM|not supported over the REST gateway/);
      }
    }
    expect(allowed).toEqual([]);
    // All of them in one pipeline: each item refused on its own.
    const piped = await fetch(`${gateway.url}/pipeline`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: JSON.stringify(FORBIDDEN.map(([, command]) => command)),
    });
    const items = (await piped.json()) as { error?: string }[];
    expect(items.map((item, i) => (item.error ? null : FORBIDDEN[i]![0]))).toEqual(FORBIDDEN.map(() => null));
    // And each as a transaction.
    for (const [what, command] of FORBIDDEN) {
      const raw = await fetch(`${gateway.url}/multi-exec`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: JSON.stringify([command]),
      });
      const text = await raw.text();
      expect(text, what).toMatch(/NOPERM|not supported/);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('subscribes to the config channel and no other', async () => {
    const ok = await fetch(`${gateway.url}/subscribe/${k.configChannel()}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(3_000),
    });
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
    const other = await fetch(`${gateway.url}/subscribe/other-channel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(3_000),
    });
    expect(other.status).toBe(500);
    expect(await other.text()).toMatch(/NOPERM/);
  });

  it('tokens that name a user without its password, or the default user, get 401', async () => {
    const forged = `${token.slice(0, token.lastIndexOf('.'))}.not-the-password-at-all`;
    // The test Redis's default user takes any password (nopass): a token naming it must not.
    const asDefault = `pau1.${Buffer.from('default').toString('base64url')}.anything-at-all-here`;
    for (const bad of [forged, asDefault, 'pau1..x', 'plainly-wrong']) {
      const res = await fetch(`${gateway.url}/`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bad}` },
        body: '["PING"]',
      });
      expect(res.status, bad).toBe(401);
    }
  });

  it('remembers a refused token for a while, until the user is changed through the gateway', async () => {
    const fresh = String(await admin().exec(['ACL', 'GENTOKEN', 'ping-agent.later']));
    const getusers = async () => {
      const info = String(await admin().exec(['INFO', 'commandstats']));
      return Number(/cmdstat_acl\|getuser:calls=(\d+)/.exec(info)?.[1] ?? 0);
    };
    const ping = async () =>
      (
        await fetch(`${gateway.url}/`, {
          method: 'POST',
          headers: { authorization: `Bearer ${fresh}` },
          body: '["PING"]',
        })
      ).status;
    const before = await getusers();
    for (let i = 0; i < 20; i++) expect(await ping()).toBe(401);
    expect(await getusers()).toBe(before + 1);
    // Made good through the gateway: accepted from the very next request.
    await admin().exec(['ACL', 'SETUSER', 'ping-agent.later', ...agentAclRules('later', fresh)]);
    expect(await ping()).toBe(200);
    await admin().exec(['ACL', 'DELUSER', 'ping-agent.later']);
    expect(await ping()).toBe(401);
  });

  it('survives a gateway restart', async () => {
    await gateway.close();
    await startOwnGateway();
    expect(await asToken(token).get(k.configVersion())).toBe('7');
  });

  it('answers ACL RESTTOKEN with the token for the right password only', async () => {
    expect(await admin().exec(['ACL', 'RESTTOKEN', 'ping-agent.a1', token])).toBe(token);
    await expect(admin().exec(['ACL', 'RESTTOKEN', 'ping-agent.a1', `${token}x`])).rejects.toThrow(
      /does not match/,
    );
    await expect(admin().exec(['ACL', 'SETUSER', 'default', 'off'])).rejects.toThrow(/gateway's own/);
    await expect(admin().exec(['ACL', 'SETUSER', 'x', 'on', 'nopass'])).rejects.toThrow(/nopass/);
    // Only the admin token administers users: not the read-only one, not inside a pipeline.
    await expect(asToken(backend.readOnlyToken).exec(['ACL', 'GENTOKEN', 'x'])).rejects.toThrow(
      /read-write \(admin\)/,
    );
    const piped = await fetch(`${gateway.url}/pipeline`, {
      method: 'POST',
      headers: { authorization: `Bearer ${backend.token}` },
      body: JSON.stringify([['ACL', 'GENTOKEN', 'x']]),
    });
    expect(((await piped.json()) as { error: string }[])[0]!.error).toMatch(/one command per POST/);
  });

  it('rotation ends the old token at once; revocation ends the new one; the admin token works throughout', async () => {
    const old = asToken(token);
    expect(await old.get(k.configVersion())).toBe('7');
    // A stream opened with the old token: Redis keeps a subscribed connection when the password
    // changes, so the gateway must end it itself.
    const stream = await fetch(`${gateway.url}/subscribe/${k.configChannel()}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(10_000),
    });
    expect(stream.status).toBe(200);
    const streamText = stream.text();
    const { token: fresh } = await credentials().issue('a1');
    expect(fresh).not.toBe(token);
    await expect(old.get(k.configVersion())).rejects.toThrow(/Unauthorized/);
    expect(await streamText).toMatch(/passwords or rules changed[\s\S]*data: unsubscribe,/);
    const renewed = asToken(fresh);
    await renewed.set(k.agentOnline('a1'), '{}');
    expect(await admin().ping()).toBe('PONG');

    expect(await credentials().revoke('a1')).toBe(true);
    await expect(renewed.set(k.agentOnline('a1'), '{"after":1}')).rejects.toThrow(/Unauthorized/);
    expect(await backend.redis.get(k.agentOnline('a1'))).toBe('{}');
    expect(await credentials().get('a1')).toBeNull();
    expect(await credentials().revoke('a1')).toBe(false);
    expect(await admin().ping()).toBe('PONG');
  });
});

describe('ACL replies in the encoding asked for', () => {
  const post = async (command: string[], encoding?: string) => {
    const res = await fetch(gateway.url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${backend.token}`,
        ...(encoding ? { 'upstash-encoding': encoding } : {}),
      },
      body: JSON.stringify(command),
    });
    return (await res.json()) as { result: unknown };
  };
  const fromBase64 = (text: unknown) => Buffer.from(String(text), 'base64').toString();

  it('encodes ACL USERS and GENTOKEN in base64 when the client asks, as every other reply', async () => {
    const token = String((await post(['ACL', 'GENTOKEN', 'enc-user'])).result);
    expect(token).toMatch(/^pau1\./);
    expect(fromBase64((await post(['ACL', 'GENTOKEN', 'enc-user'], 'base64')).result)).toMatch(/^pau1\./);
    await post(['ACL', 'SETUSER', 'enc-user', 'on', `>${token}`, '~x', '+get']);
    const users = (await post(['ACL', 'USERS'], 'base64')).result as string[];
    expect(users.map(fromBase64)).toContain('enc-user');
    expect(fromBase64((await post(['ACL', 'RESTTOKEN', 'enc-user', token], 'base64')).result)).toBe(token);
    // The real client asks for base64 by default and reads the names back whole.
    const client = new Redis({
      url: gateway.url,
      token: backend.token,
      retry: false,
      enableTelemetry: false,
    });
    expect(await client.exec<string[]>(['ACL', 'USERS'])).toContain('enc-user');
    await post(['ACL', 'DELUSER', 'enc-user']);
  });
});

describe('the 6.2 form of the rules (what Upstash documents)', () => {
  it("keeps other agents' keys and every unlisted command out, but not the shared keys (the README's residual risk)", async () => {
    await seed();
    const token = String(await admin().exec(['ACL', 'GENTOKEN', 'ping-agent.old']));
    await admin().exec([
      'ACL',
      'SETUSER',
      'ping-agent.old',
      ...agentAclRules('a1', token, { flavour: 'redis6' }),
    ]);
    const redis = asToken(token);
    await redis.mset({ [k.ipStatus('a1', '10.0.0.2')]: '{}', [k.agentOnline('a1')]: '{}' });
    expect(await redis.smembers(k.group('g'))).toEqual(['10.0.0.1']);
    await expect(redis.set(k.ipStatus('a2', '10.0.0.1'), 'x')).rejects.toThrow(/NOPERM/);
    await expect(redis.set(k.agentJob('a2', 'flood'), 'x')).rejects.toThrow(/NOPERM/);
    await expect(redis.exec(['EVAL', 'return 1', 0])).rejects.toThrow(/not supported|NOPERM/);
    await expect(redis.exec(['KEYS', '*'])).rejects.toThrow(/NOPERM/);
    // What only Redis 7's read-only key permissions prevent:
    expect(await redis.set(k.configVersion(), '8')).toBe('OK');
    expect(await redis.srem(k.agentList(), 'a2')).toBe(1);
    await admin().exec(['ACL', 'DELUSER', 'ping-agent.old']);
  });
});
