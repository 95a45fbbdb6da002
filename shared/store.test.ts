import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestBackend, type TestBackend } from '../test/support/backend.ts';
import { keySchema } from './keys.ts';
import { createStore, diffMembers, type Store } from './store.ts';

// The shared store against a real redis-server, through our gateway and the real client.

let backend: TestBackend;
let store: Store;
const keys = keySchema();

beforeAll(async () => {
  backend = await startTestBackend();
  store = createStore(backend.redis);
});
afterAll(() => backend?.close());
beforeEach(async () => {
  await backend.redis.flushdb();
});

describe('groups', () => {
  it('replaces a group atomically, lists it and bumps the config version', async () => {
    await store.groups.replace('dc1', ['10.0.0.2', '10.0.0.1']);
    expect(await store.groups.get('dc1')).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(await store.groups.list()).toEqual(['dc1']);
    expect(await backend.redis.smembers(keys.group('dc1'))).toHaveLength(2);
    expect(await store.configVersion.get()).toBe(1);
    await store.groups.replace('dc1', ['10.0.0.3']);
    expect(await store.groups.get('dc1')).toEqual(['10.0.0.3']);
    expect(await store.configVersion.get()).toBe(2);
  });

  it('writes a group too large for one command through a staging key, leaving none behind', async () => {
    const ips = Array.from({ length: 25_000 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
    await store.groups.replace('big', ips);
    expect(await backend.redis.scard(keys.group('big'))).toBe(25_000);
    const [, leftovers] = await backend.redis.scan(0, { match: 'group-staging_*', count: 1000 });
    expect(leftovers).toEqual([]);
  });

  it('keeps an empty group as existing while it is listed', async () => {
    await store.groups.replace('empty', []);
    expect(await store.groups.get('empty')).toEqual([]);
    expect(await store.groups.get('nope')).toBeNull();
  });

  it('treats a group written by hand without groups-list as existing', async () => {
    await backend.redis.sadd(keys.group('manual'), '10.1.1.1');
    expect(await store.groups.get('manual')).toEqual(['10.1.1.1']);
    expect([...(await store.groups.existing(['manual', 'ghost']))]).toEqual(['manual']);
  });

  it('patches and removes groups', async () => {
    await store.groups.replace('g', ['10.0.0.1', '10.0.0.2']);
    await store.groups.patch('g', ['10.0.0.3'], ['10.0.0.1']);
    expect(await store.groups.get('g')).toEqual(['10.0.0.2', '10.0.0.3']);
    expect(await store.groups.remove('g')).toBe(true);
    expect(await store.groups.get('g')).toBeNull();
    expect(await store.groups.remove('g')).toBe(false);
  });

  it('reads members of several groups in one call', async () => {
    await store.groups.replace('a', ['10.0.0.1']);
    await store.groups.replace('b', ['10.0.0.2', '10.0.0.1']);
    const members = await store.groups.members(['a', 'b', 'missing']);
    expect(Object.fromEntries(members)).toEqual({
      a: ['10.0.0.1'],
      b: ['10.0.0.1', '10.0.0.2'],
      missing: [],
    });
  });

  it('computes the diff of two member lists', () => {
    expect(diffMembers(['1', '2'], ['2', '3'])).toEqual({ added: ['3'], removed: ['1'] });
  });
});

describe('jobs', () => {
  it("stores the seed's value and reads it back", async () => {
    await store.jobs.put('edge1', { SPEC: '*/10 * * * * *', name: 'core', group: ['dc1'] });
    expect(JSON.parse((await backend.redis.get<string>('agent_edge1_core'))!)).toEqual({
      SPEC: '*/10 * * * * *',
      name: 'core',
      group: ['dc1'],
    });
    expect(await backend.redis.smembers('agent-jobs_edge1')).toEqual(['core']);
    expect(await store.jobs.list('edge1')).toEqual([
      { name: 'core', job: { SPEC: '*/10 * * * * *', name: 'core', group: ['dc1'] } },
    ]);
  });

  it('reports a listed job that is missing or malformed as a problem, not a throw', async () => {
    await backend.redis.sadd('agent-jobs_edge1', 'ghost', 'broken', 'badspec');
    await backend.redis.set('agent_edge1_broken', '{not json');
    await backend.redis.set(
      'agent_edge1_badspec',
      JSON.stringify({ SPEC: 'often', name: 'badspec', group: [] }),
    );
    const jobs = await store.jobs.list('edge1');
    expect(jobs.map((j) => [j.name, j.problem !== undefined])).toEqual([
      ['badspec', true],
      ['broken', true],
      ['ghost', true],
    ]);
    expect(jobs[0]!.problem).toMatch(/SPEC|cron/);
  });

  it('keeps a numeric-looking string a string (automatic deserialization is off)', async () => {
    await backend.redis.set('agent_edge1_n', JSON.stringify({ SPEC: '* * * * *', name: '42', group: ['7'] }));
    const job = await store.jobs.get('edge1', 'n');
    expect(job?.job?.name).toBe('42');
  });

  it('finds the jobs that use a group and deletes jobs', async () => {
    await store.jobs.put('a1', { SPEC: '* * * * *', name: 'j1', group: ['dc1', 'dc2'] });
    await store.jobs.put('a2', { SPEC: '* * * * *', name: 'j2', group: ['dc2'] });
    expect(await store.jobs.usingGroup('dc1', ['a1', 'a2'])).toEqual([{ agent: 'a1', job: 'j1' }]);
    expect(await store.jobs.remove('a1', 'j1')).toBe(true);
    expect(await store.jobs.remove('a1', 'j1')).toBe(false);
    expect(await store.jobs.usingGroup('dc1', ['a1', 'a2'])).toEqual([]);
  });
});

describe('agents', () => {
  const heartbeat = {
    version: '0.1.0',
    hostname: 'h',
    pid: 1,
    started_at: '2026-01-01T00:00:00Z',
    jobs: ['j'],
  };

  it('registers, heartbeats with an expiry and goes offline', async () => {
    await store.agents.register('edge1');
    await store.agents.heartbeat('edge1', heartbeat, 30);
    const ttl = await backend.redis.ttl('agent-online_edge1');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30);
    const [summary] = await store.agents.summaries(await store.agents.names());
    expect(summary).toMatchObject({ name: 'edge1', online: true, heartbeat, job_count: 0, err_count: 0 });
    await store.agents.goOffline('edge1');
    const [after] = await store.agents.summaries(['edge1']);
    expect(after?.online).toBe(false);
  });

  it('removes an agent with its jobs', async () => {
    await store.agents.register('edge1');
    await store.jobs.put('edge1', { SPEC: '* * * * *', name: 'j', group: [] });
    expect(await store.agents.remove('edge1')).toBe(true);
    expect(await backend.redis.exists('agent_edge1_j', 'agent-jobs_edge1')).toBe(0);
    expect(await store.agents.names()).toEqual([]);
  });
});

describe('statuses', () => {
  const status = (ip: string) => ({
    ip,
    send_count: 2,
    return_count: 1,
    err: 'timeout',
    updated_at: '2026-01-01T00:00:00Z',
  });

  it('reads statuses by IP and by page, one agent at a time', async () => {
    await backend.redis.set('ip_a_10.0.0.1', JSON.stringify(status('10.0.0.1')));
    await backend.redis.set('ip_a_10.0.0.2', JSON.stringify(status('10.0.0.2')));
    await backend.redis.set('ip_ab_10.0.0.3', JSON.stringify(status('10.0.0.3')));
    await backend.redis.set('ip_a_10.0.0.9', 'garbage');
    expect([...(await store.statuses.get('a', ['10.0.0.1', '10.0.0.5'])).keys()]).toEqual(['10.0.0.1']);

    const seen: string[] = [];
    let cursor = '0';
    do {
      const page = await store.statuses.page('a', cursor, 100);
      seen.push(...page.statuses.map((s) => s.ip));
      cursor = page.cursor;
    } while (cursor !== '0');
    expect(seen.sort()).toEqual(['10.0.0.1', '10.0.0.2']);

    // ip_ab_* must not turn up in agent a's pages: the scan pattern ends at a's `_`.
    expect(seen).not.toContain('10.0.0.3');
  });
});
