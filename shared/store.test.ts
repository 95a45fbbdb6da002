import { describe, expect, it } from 'vitest';
import { useFreshStore } from '../test/support/fresh-store.ts';
import { keySchema } from './keys.ts';
import { diffMembers } from './store.ts';

// The shared store against a real redis-server, through our gateway and the real client.

const t = useFreshStore();
const keys = keySchema();

describe('groups', () => {
  it('replaces a group atomically, lists it and bumps the config version', async () => {
    await t.store.groups.replace('dc1', ['10.0.0.2', '10.0.0.1']);
    expect(await t.store.groups.get('dc1')).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(await t.store.groups.list()).toEqual(['dc1']);
    expect(await t.backend.redis.smembers(keys.group('dc1'))).toHaveLength(2);
    expect(await t.store.configVersion.get()).toBe(1);
    await t.store.groups.replace('dc1', ['10.0.0.3']);
    expect(await t.store.groups.get('dc1')).toEqual(['10.0.0.3']);
    expect(await t.store.configVersion.get()).toBe(2);
  });

  it('writes a group too large for one command through a staging key, leaving none behind', async () => {
    const ips = Array.from({ length: 25_000 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
    await t.store.groups.replace('big', ips);
    expect(await t.backend.redis.scard(keys.group('big'))).toBe(25_000);
    const [, leftovers] = await t.backend.redis.scan(0, { match: 'group-staging_*', count: 1000 });
    expect(leftovers).toEqual([]);
  });

  it('keeps an empty group as existing while it is listed', async () => {
    await t.store.groups.replace('empty', []);
    expect(await t.store.groups.get('empty')).toEqual([]);
    expect(await t.store.groups.get('nope')).toBeNull();
  });

  it('treats a group written by hand without groups-list as existing', async () => {
    await t.backend.redis.sadd(keys.group('manual'), '10.1.1.1');
    expect(await t.store.groups.get('manual')).toEqual(['10.1.1.1']);
    expect([...(await t.store.groups.existing(['manual', 'ghost']))]).toEqual(['manual']);
  });

  it('patches and removes groups', async () => {
    await t.store.groups.replace('g', ['10.0.0.1', '10.0.0.2']);
    await t.store.groups.patch('g', ['10.0.0.3'], ['10.0.0.1']);
    expect(await t.store.groups.get('g')).toEqual(['10.0.0.2', '10.0.0.3']);
    expect(await t.store.groups.remove('g')).toBe(true);
    expect(await t.store.groups.get('g')).toBeNull();
    expect(await t.store.groups.remove('g')).toBe(false);
  });

  it('reads members of several groups in one call', async () => {
    await t.store.groups.replace('a', ['10.0.0.1']);
    await t.store.groups.replace('b', ['10.0.0.2', '10.0.0.1']);
    const members = await t.store.groups.members(['a', 'b', 'missing']);
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
    await t.store.jobs.put('edge1', { SPEC: '*/10 * * * * *', name: 'core', group: ['dc1'] });
    expect(JSON.parse((await t.backend.redis.get<string>('agent_edge1_core'))!)).toEqual({
      SPEC: '*/10 * * * * *',
      name: 'core',
      group: ['dc1'],
    });
    expect(await t.backend.redis.smembers('agent-jobs_edge1')).toEqual(['core']);
    expect(await t.store.jobs.list('edge1')).toEqual([
      { name: 'core', job: { SPEC: '*/10 * * * * *', name: 'core', group: ['dc1'] } },
    ]);
  });

  it('reports a listed job that is missing or malformed as a problem, not a throw', async () => {
    await t.backend.redis.sadd('agent-jobs_edge1', 'ghost', 'broken', 'badspec');
    await t.backend.redis.set('agent_edge1_broken', '{not json');
    await t.backend.redis.set(
      'agent_edge1_badspec',
      JSON.stringify({ SPEC: 'often', name: 'badspec', group: [] }),
    );
    const jobs = await t.store.jobs.list('edge1');
    expect(jobs.map((j) => [j.name, j.problem !== undefined])).toEqual([
      ['badspec', true],
      ['broken', true],
      ['ghost', true],
    ]);
    expect(jobs[0]!.problem).toMatch(/SPEC|cron/);
  });

  it('keeps a numeric-looking string a string (automatic deserialization is off)', async () => {
    await t.backend.redis.set(
      'agent_edge1_n',
      JSON.stringify({ SPEC: '* * * * *', name: '42', group: ['7'] }),
    );
    const job = await t.store.jobs.get('edge1', 'n');
    expect(job?.job?.name).toBe('42');
  });

  it('finds the jobs that use a group and deletes jobs', async () => {
    await t.store.jobs.put('a1', { SPEC: '* * * * *', name: 'j1', group: ['dc1', 'dc2'] });
    await t.store.jobs.put('a2', { SPEC: '* * * * *', name: 'j2', group: ['dc2'] });
    expect(await t.store.jobs.usingGroup('dc1', ['a1', 'a2'])).toEqual([{ agent: 'a1', job: 'j1' }]);
    expect(await t.store.jobs.remove('a1', 'j1')).toBe(true);
    expect(await t.store.jobs.remove('a1', 'j1')).toBe(false);
    expect(await t.store.jobs.usingGroup('dc1', ['a1', 'a2'])).toEqual([]);
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
    await t.store.agents.register('edge1');
    await t.store.agents.heartbeat('edge1', heartbeat, 30);
    const ttl = await t.backend.redis.ttl('agent-online_edge1');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(30);
    const [summary] = await t.store.agents.summaries(await t.store.agents.names());
    expect(summary).toMatchObject({ name: 'edge1', online: true, heartbeat, job_count: 0, err_count: 0 });
    await t.store.agents.goOffline('edge1');
    const [after] = await t.store.agents.summaries(['edge1']);
    expect(after?.online).toBe(false);
  });

  it('removes an agent with its jobs', async () => {
    await t.store.agents.register('edge1');
    await t.store.jobs.put('edge1', { SPEC: '* * * * *', name: 'j', group: [] });
    expect(await t.store.agents.remove('edge1')).toBe(true);
    expect(await t.backend.redis.exists('agent_edge1_j', 'agent-jobs_edge1')).toBe(0);
    expect(await t.store.agents.names()).toEqual([]);
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
    await t.backend.redis.set('ip_a_10.0.0.1', JSON.stringify(status('10.0.0.1')));
    await t.backend.redis.set('ip_a_10.0.0.2', JSON.stringify(status('10.0.0.2')));
    await t.backend.redis.set('ip_ab_10.0.0.3', JSON.stringify(status('10.0.0.3')));
    await t.backend.redis.set('ip_a_10.0.0.9', 'garbage');
    expect([...(await t.store.statuses.get('a', ['10.0.0.1', '10.0.0.5'])).keys()]).toEqual(['10.0.0.1']);

    const seen: string[] = [];
    let cursor = '0';
    do {
      const page = await t.store.statuses.page('a', cursor, 100);
      seen.push(...page.statuses.map((s) => s.ip));
      cursor = page.cursor;
    } while (cursor !== '0');
    expect(seen.sort()).toEqual(['10.0.0.1', '10.0.0.2']);

    // ip_ab_* must not turn up in agent a's pages: the scan pattern ends at a's `_`.
    expect(seen).not.toContain('10.0.0.3');
  });
});
