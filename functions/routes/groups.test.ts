import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keySchema } from '../../shared/keys.ts';
import { type ApiHarness, snapshot, startApiHarness } from '../testing/api-harness.ts';

let api: ApiHarness;
const keys = keySchema();

beforeAll(async () => {
  api = await startApiHarness();
});
afterAll(() => api?.close());
beforeEach(async () => {
  await api.backend.redis.flushdb();
});

const version = async () => Number((await api.backend.redis.get(keys.configVersion())) ?? 0);

describe('PUT /v1/groups/{group}', () => {
  it('creates a group from addresses and blocks, canonical and de-duplicated, and bumps the version', async () => {
    const res = await api.call('PUT', '/v1/groups/dc1', {
      body: { ips: ['198.18.0.1', ' 198.18.0.1 ', '198.18.1.0/30', 'FD00:0:0::1', '198.18.0.1/32'] },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      name: 'dc1',
      ip_count: 4,
      created: true,
      added: ['198.18.0.1', '198.18.1.1', '198.18.1.2', 'fd00::1'],
      removed: [],
    });
    expect((await api.backend.redis.smembers(keys.group('dc1'))).sort()).toEqual(res.body.added);
    expect(await api.backend.redis.smembers(keys.groupsList())).toEqual(['dc1']);
    expect(await version()).toBe(1);
  });

  it('replaces the members and answers the diff', async () => {
    await api.call('PUT', '/v1/groups/dc1', { body: { ips: ['198.18.0.1', '198.18.0.2'] } });
    const res = await api.call('PUT', '/v1/groups/dc1', { body: { ips: ['198.18.0.2', '198.18.0.3'] } });
    expect(res.body).toMatchObject({ created: false, added: ['198.18.0.3'], removed: ['198.18.0.1'] });
    expect((await api.call('GET', '/v1/groups/dc1')).body.ips).toEqual(['198.18.0.2', '198.18.0.3']);
  });

  it('expands a /22 to its 1,022 hosts and refuses a /21', async () => {
    const ok = await api.call('PUT', '/v1/groups/big', { body: { ips: ['198.18.4.0/22'] } });
    expect(ok.body.ip_count).toBe(1022);
    const tooBig = await api.call('PUT', '/v1/groups/big', { body: { ips: ['198.18.0.0/21'] } });
    expect(tooBig.status).toBe(422);
    expect(tooBig.body.error.message).toContain('198.18.0.0/21');
  });

  it.each([
    ['0.0.0.0', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['224.0.0.5', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['::', 'unspecified'],
    ['ff02::1', 'multicast'],
    ['198.18.0.0/21', 'larger than the /22 blocks'],
  ])('refuses %s (%s) naming it, and writes nothing', async (ip, problem) => {
    const res = await api.call('PUT', '/v1/groups/dc1', { body: { ips: ['198.18.0.1', ip] } });
    expect(res.status).toBe(422);
    expect(res.body.error.type).toBe('invalid_ip');
    expect(res.body.error.problems[0]).toMatchObject({ index: 1, value: ip });
    expect(res.body.error.message).toContain(problem);
    expect(await snapshot(api.backend)).toEqual({});
  });

  // What is no address or block at all is refused by the schema /openapi.json describes (formats
  // ipv4 and ipv6, the CIDR patterns), still naming the entry.
  it.each(['10.0.0.01', 'example.com', '198.18.0.0/33', 'fe80::1%eth0', ''])(
    'refuses %j as no IP address by the schema, naming it, and writes nothing',
    async (ip) => {
      const res = await api.call('PUT', '/v1/groups/dc1', { body: { ips: ['198.18.0.1', ip] } });
      expect(res.status).toBe(422);
      expect(res.body.error.type).toBe('validation');
      expect(res.body.error.issues[0]).toMatchObject({ path: 'ips.1' });
      expect(res.body.error.message).toContain(`"${ip}" is not an IP address or CIDR block`);
      expect(await snapshot(api.backend)).toEqual({});
    },
  );

  it('refuses more than 65,536 IPs with 422', async () => {
    // 65 valid /22 blocks: 66,430 addresses, every entry fine on its own.
    const blocks = Array.from({ length: 65 }, (_, i) => `198.${18 + (i >> 6)}.${(i & 63) * 4}.0/22`);
    const res = await api.call('PUT', '/v1/groups/huge', { body: { ips: blocks } });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ type: 'group_too_large', limit: 65536 });
  });

  it('refuses unknown fields, wrong types and malformed JSON', async () => {
    const extra = await api.call('PUT', '/v1/groups/dc1', { body: { ips: [], owner: 'me' } });
    expect(extra.status).toBe(422);
    expect(extra.body.error.message).toContain('owner');
    const wrong = await api.call('PUT', '/v1/groups/dc1', { body: { ips: '198.18.0.1' } });
    expect(wrong.status).toBe(422);
    const malformed = await api.call('PUT', '/v1/groups/dc1', { body: '{"ips": [' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.type).toBe('invalid_request');
  });

  it('refuses a bad group name with 400 and a body that is not JSON with 415', async () => {
    const name = await api.call('PUT', '/v1/groups/-bad', { body: { ips: [] } });
    expect(name.status).toBe(400);
    expect(name.body.error.message).toContain('group name');
    const res = await api.raw('/v1/groups/dc1', {
      method: 'PUT',
      headers: { authorization: 'Bearer write-token-a', 'content-type': 'text/plain' },
      body: '198.18.0.1',
    });
    expect(res.status).toBe(415);
  });
});

describe('GET /v1/groups', () => {
  it('lists groups with their sizes and answers 404 for an unknown group', async () => {
    await api.call('PUT', '/v1/groups/b', { body: { ips: ['198.18.0.1'] } });
    await api.call('PUT', '/v1/groups/a', { body: { ips: [] } });
    expect((await api.call('GET', '/v1/groups')).body).toEqual({
      groups: [
        { name: 'a', ip_count: 0 },
        { name: 'b', ip_count: 1 },
      ],
    });
    expect((await api.call('GET', '/v1/groups/a')).body).toEqual({ name: 'a', ip_count: 0, ips: [] });
    const missing = await api.call('GET', '/v1/groups/zz');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ type: 'not_found', group: 'zz' });
  });
});

describe('PATCH /v1/groups/{group}', () => {
  it('adds and removes members and answers what really changed', async () => {
    await api.call('PUT', '/v1/groups/dc1', { body: { ips: ['198.18.0.1', '198.18.0.2'] } });
    const res = await api.call('PATCH', '/v1/groups/dc1', {
      body: { add: ['198.18.0.2', '198.18.0.3'], remove: ['198.18.0.1', '198.18.0.9'] },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ name: 'dc1', ip_count: 2, added: ['198.18.0.3'], removed: ['198.18.0.1'] });
    expect(await version()).toBe(2);
  });

  it('applies a patch too large for one Redis request (64 /22 blocks added, then removed)', async () => {
    await api.call('PUT', '/v1/groups/wide', { body: { ips: ['198.18.0.1'] } });
    const blocks = Array.from({ length: 64 }, (_, i) => `198.${18 + (i >> 6)}.${(i & 63) * 4}.0/22`);
    const added = await api.call('PATCH', '/v1/groups/wide', { body: { add: blocks } });
    expect(added.status).toBe(200);
    expect(added.body.ip_count).toBe(64 * 1022);
    expect(await api.backend.redis.scard(keys.group('wide'))).toBe(64 * 1022);
    const removed = await api.call('PATCH', '/v1/groups/wide', { body: { remove: blocks.slice(1) } });
    expect(removed.status).toBe(200);
    expect(removed.body.ip_count).toBe(1022);
    expect(await api.backend.redis.scard(keys.group('wide'))).toBe(1022);
  });

  it('answers 404 for an unknown group and 422 for an IP both added and removed', async () => {
    expect((await api.call('PATCH', '/v1/groups/nope', { body: { add: ['198.18.0.1'] } })).status).toBe(404);
    await api.call('PUT', '/v1/groups/dc1', { body: { ips: [] } });
    const both = await api.call('PATCH', '/v1/groups/dc1', {
      body: { add: ['198.18.0.1'], remove: ['198.18.0.1'] },
    });
    expect(both.status).toBe(422);
  });

  it('refuses to grow a group past 65,536 IPs', async () => {
    const blocks = Array.from({ length: 64 }, (_, i) => `198.18.${i * 4}.0/22`);
    await api.call('PUT', '/v1/groups/g', { body: { ips: blocks } });
    const grow = Array.from({ length: 2 }, (_, i) => `198.19.${i * 4}.0/22`);
    const res = await api.call('PATCH', '/v1/groups/g', { body: { add: grow } });
    expect(res.status).toBe(422);
    expect(res.body.error.type).toBe('group_too_large');
    expect(await api.backend.redis.scard(keys.group('g'))).toBe(64 * 1022);
  });
});

describe('DELETE /v1/groups/{group}', () => {
  it('refuses with 409 naming the jobs that use it, unless force=true', async () => {
    await api.call('PUT', '/v1/groups/dc1', { body: { ips: ['198.18.0.1'] } });
    await api.call('PUT', '/v1/agents/edge-1/jobs/core', {
      body: { spec: '*/10 * * * * *', groups: ['dc1'] },
    });
    await api.backend.redis.sadd(keys.agentList(), 'edge-1');
    const refused = await api.call('DELETE', '/v1/groups/dc1');
    expect(refused.status).toBe(409);
    expect(refused.body.error.jobs).toEqual([{ agent: 'edge-1', job: 'core' }]);
    expect(await api.backend.redis.exists(keys.group('dc1'))).toBe(1);
    const forced = await api.call('DELETE', '/v1/groups/dc1?force=true');
    expect(forced.status).toBe(200);
    expect(await api.backend.redis.exists(keys.group('dc1'))).toBe(0);
    expect(await api.backend.redis.smembers(keys.groupsList())).toEqual([]);
  });

  it('deletes an unused group and answers 404 after, changing nothing then', async () => {
    await api.call('PUT', '/v1/groups/dc1', { body: { ips: ['198.18.0.1'] } });
    expect((await api.call('DELETE', '/v1/groups/dc1')).status).toBe(200);
    const before = await snapshot(api.backend);
    expect((await api.call('DELETE', '/v1/groups/dc1')).status).toBe(404);
    expect(await snapshot(api.backend)).toEqual(before);
    expect((await api.call('DELETE', '/v1/groups/dc1?force=maybe')).status).toBe(400);
  });
});
