import { describe, expect, it } from 'vitest';
import { useFreshStore } from '../../test/support/fresh-store.ts';
import { membershipDigest } from '../summary/membership-digest.ts';
import { KEYS_PER_REQUEST } from './context.ts';
import { type PageSource, SPECULATIVE_KEY_LIMIT } from './group-view.ts';

// The check's read path against real Redis: which agents count, and how many round trips it takes.

const t = useFreshStore();

const ips = (n: number) => Array.from({ length: n }, (_, i) => `198.18.${i >> 8}.${i & 255}`);

async function agentWithJob(agent: string, groups: string[]) {
  await t.store.agents.register(agent);
  await t.store.jobs.put(agent, { SPEC: '* * * * *', name: 'core', group: groups });
}

async function writeStatuses(agent: string, list: string[]) {
  // A few thousand values per request, to stay under the 1 MB request limit.
  for (let i = 0; i < list.length; i += 2_000) {
    const p = t.backend.redis.pipeline();
    for (const ip of list.slice(i, i + 2_000)) {
      const status = { ip, send_count: 1, return_count: 1, err: null, updated_at: new Date().toISOString() };
      p.set(t.store.keys.ipStatus(agent, ip), JSON.stringify(status));
    }
    await p.exec();
  }
}

describe('groupView.read', () => {
  it('is null for an unknown group and counts only agents whose jobs include the group', async () => {
    expect(await t.store.groupView.read('nope')).toBeNull();
    await t.store.groups.replace('dc1', ips(3));
    await t.store.groups.replace('dc2', ips(1));
    await agentWithJob('a1', ['dc1']);
    await agentWithJob('a2', ['dc2']);
    await t.store.agents.register('idle');
    await t.store.agents.heartbeat(
      'a1',
      { version: '0', hostname: 'h', pid: 1, started_at: 'x', jobs: [] },
      60,
    );
    await writeStatuses('a1', ips(2));
    const view = (await t.store.groupView.read('dc1'))!;
    expect(view.agents).toEqual([{ name: 'a1', online: true, jobs: ['core'] }]);
    expect([...view.statuses.get('a1')!.keys()]).toEqual(ips(2));
    expect(view.roundTrips).toBe(3);
    const narrowed = (await t.store.groupView.read('dc1', { agent: 'a2' }))!;
    expect(narrowed.agents).toEqual([]);
  });

  it('splits status reads over the request limit into parallel requests, still three round trips', async () => {
    // 3 agents x 8,000 long IPv6 addresses: 24,000 keys, over 1 MB in one request (the gateway,
    // like Upstash, would refuse it), yet few enough to be read speculatively in the third trip.
    const members = Array.from(
      { length: 8_000 },
      (_, i) => `fd00:1234:5678:9abc:def0:1234:5678:${(i + 4096).toString(16)}`,
    );
    await t.store.groups.replace('g', members);
    const agents = ['a0', 'a1', 'a2'];
    expect(agents.length * members.length).toBeGreaterThan(KEYS_PER_REQUEST);
    expect(agents.length * members.length).toBeLessThanOrEqual(SPECULATIVE_KEY_LIMIT);
    for (const a of agents) await agentWithJob(a, ['g']);
    await writeStatuses(agents.at(-1)!, members);
    const view = (await t.store.groupView.read('g'))!;
    expect(view.roundTrips).toBe(3);
    expect(view.agents).toHaveLength(agents.length);
    expect(view.statuses.get(agents.at(-1)!)!.size).toBe(members.length);
    expect(view.statuses.get('a0')!.size).toBe(0);
  });

  it('reads the statuses of a group of 50,000 IPs in the fourth trip, split under the request limit', async () => {
    const members = ips(50_000);
    await t.store.groups.replace('big', members);
    await agentWithJob('mine', ['big']);
    await writeStatuses('mine', members.slice(-5));
    const view = (await t.store.groupView.read('big'))!;
    expect(view.roundTrips).toBe(4);
    expect([...view.statuses.get('mine')!.keys()]).toEqual(members.slice(-5).sort());
  });

  it('reads job values first when fetching every agent’s statuses would be far too many keys', async () => {
    const members = ips(1000);
    await t.store.groups.replace('g', members);
    await t.store.groups.replace('other', ['198.19.0.1']);
    const others = Array.from({ length: SPECULATIVE_KEY_LIMIT / 1000 + 1 }, (_, i) => `o${i}`);
    for (const a of others) await agentWithJob(a, ['other']);
    await agentWithJob('mine', ['g']);
    await writeStatuses('mine', members.slice(0, 10));
    const view = (await t.store.groupView.read('g'))!;
    expect(view.roundTrips).toBe(4);
    expect(view.agents.map((a) => a.name)).toEqual(['mine']);
    expect(view.statuses.get('mine')!.size).toBe(10);
  });
});

describe('groupView.readSummaries', () => {
  it('reads what the check needs in three round trips and no status, whatever the group size', async () => {
    const members = ips(20_000);
    await t.store.groups.replace('big', members);
    await agentWithJob('mine', ['big']);
    await writeStatuses('mine', members.slice(0, 3));
    const read = (await t.store.groupView.readSummaries('big'))!;
    expect(read).toMatchObject({
      memberCount: 20_000,
      roundTrips: 3,
      agents: [{ name: 'mine', online: false }],
    });
    expect(read.digest).toBe(membershipDigest(members));
    expect(read.summaries.size).toBe(0);
    expect(await t.store.groupView.readSummaries('nope')).toBeNull();
  });

  it('fetches the members with the third trip when asked, so the full read after it takes four', async () => {
    const members = ips(5_000);
    await t.store.groups.replace('big', members);
    for (const a of ['a0', 'a1']) await agentWithJob(a, ['big']);
    await agentWithJob('elsewhere', ['other']);
    await writeStatuses('a1', members.slice(0, 700));
    let asked: string[] = [];
    const fast = (await t.store.groupView.readSummaries('big', {}, (read) => {
      asked = read.agents.map((a) => a.name);
      return true;
    }))!;
    // Asked before the job values say who probes the group: every agent with jobs.
    expect(asked).toEqual(['a0', 'a1', 'elsewhere']);
    expect(fast.roundTrips).toBe(3);
    expect([...fast.members!].sort()).toEqual([...members].sort());
    const full = await t.store.groupView.readAfterSummaries(fast);
    expect(full.roundTrips).toBe(4);
    const direct = (await t.store.groupView.read('big'))!;
    expect(full.ips).toEqual(direct.ips);
    expect(full.agents).toEqual(direct.agents);
    expect(full.digest).toBe(direct.digest);
    expect(full.statuses).toEqual(direct.statuses);
    expect(full.statuses.get('a1')!.size).toBe(700);

    // Not asked: no members in the fast read, and the full read fetches them itself (five trips).
    const lean = (await t.store.groupView.readSummaries('big', {}, () => false))!;
    expect(lean.members).toBeUndefined();
    const late = await t.store.groupView.readAfterSummaries(lean);
    expect(late.roundTrips).toBe(5);
    expect(late.statuses).toEqual(direct.statuses);
  });

  it('keeps the stored digest equal to the membership through replace, patch and remove', async () => {
    const digest = async () => t.backend.redis.get(t.store.keys.groupDigest('g'));
    await t.store.groups.replace('g', ips(3));
    expect(await digest()).toBe(membershipDigest(ips(3)));
    await t.store.groups.patch('g', ['10.9.9.9'], [ips(3)[0]!]);
    expect(await digest()).toBe(membershipDigest([...ips(3).slice(1), '10.9.9.9']));
    await t.store.groups.replace('g', ips(12_000));
    expect(await digest()).toBe(membershipDigest(ips(12_000)));
    await t.store.groups.remove('g');
    expect(await digest()).toBeNull();
  });
});

describe('groupView.readPage', () => {
  it('reads a page of a 65,536-IP group in three round trips, never the whole membership', async () => {
    const members = ips(65_536);
    await t.store.groups.replace('big', members);
    for (const a of ['a0', 'a1', 'a2']) await agentWithJob(a, ['big']);
    let source: PageSource | null = null;
    const view = (await t.store.groupView.readPage('big', { cursor: '0', count: 2_000 }, (s) => {
      source = s;
      return s.scanned.slice(0, 500);
    }))!;
    expect(source!.memberCount).toBe(65_536);
    expect(source!.candidateAgents).toBe(3);
    expect(source!.digest).toBe(membershipDigest(members));
    // SSCAN's COUNT is a hint: about as many as asked, far fewer than the group.
    expect(source!.scanned.length).toBeGreaterThanOrEqual(1_000);
    expect(source!.scanned.length).toBeLessThan(4_000);
    expect(source!.nextScan).not.toBe('0');
    await writeStatuses('a1', view.ips);
    const again = (await t.store.groupView.readPage('big', { cursor: '0', count: 2_000 }, (s) =>
      s.scanned.slice(0, 500),
    ))!;
    expect(again.ips).toEqual(view.ips);
    expect(again.roundTrips).toBe(3);
    expect(again.memberCount).toBe(65_536);
    expect(again.statuses.get('a1')!.size).toBe(500);
  });

  it('ignores a stored digest that no longer counts the members, and is null for no group', async () => {
    await t.store.groups.replace('g', ips(3));
    await t.backend.redis.sadd(t.store.keys.group('g'), '10.9.9.9');
    let digest: string | null = 'unset';
    await t.store.groupView.readPage('g', { cursor: '0', count: 10 }, (s) => {
      digest = s.digest;
      expect(s.scanned.sort()).toEqual([...ips(3), '10.9.9.9'].sort());
      expect(s.nextScan).toBe('0');
      return [];
    });
    expect(digest).toBeNull();
    expect(await t.store.groupView.readPage('nope', { cursor: '0', count: 10 }, () => [])).toBeNull();
  });
});
