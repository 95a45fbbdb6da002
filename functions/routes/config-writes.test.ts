import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keySchema } from '../../shared/keys.ts';
import { type ApiHarness, snapshot, startApiHarness } from '../testing/api-harness.ts';

// A 5xx from a write must mean nothing changed. Every change of groups or jobs also bumps
// `config-version`, and a key written by hand can make that bump (or another part of the write)
// fail; the write is then refused before anything is written, not answered 500 after the fact.

let api: ApiHarness;
const keys = keySchema();

beforeAll(async () => {
  api = await startApiHarness();
});
afterAll(() => api?.close());
beforeEach(async () => {
  await api.backend.redis.flushdb();
  await api.call('PUT', '/v1/groups/dc1', { body: { ips: ['198.18.0.1'] } });
  await api.call('PUT', '/v1/agents/edge-1/jobs/core', { body: { spec: '* * * * *', groups: ['dc1'] } });
});

const many = Array.from({ length: 12_000 }, (_, i) => `198.19.${i >> 8}.${i & 255}`);

const writes: [string, string, string, unknown?][] = [
  ['PUT a group', 'PUT', '/v1/groups/x', { ips: ['198.18.0.9'] }],
  ['PUT a group of 12,000 IPs', 'PUT', '/v1/groups/x', { ips: many }],
  ['PATCH a group', 'PATCH', '/v1/groups/dc1', { add: ['198.18.0.9'] }],
  ['DELETE a group', 'DELETE', '/v1/groups/dc1?force=true'],
  ['PUT a job', 'PUT', '/v1/agents/edge-1/jobs/other', { spec: '* * * * *', groups: ['dc1'] }],
  ['DELETE a job', 'DELETE', '/v1/agents/edge-1/jobs/core'],
  ['DELETE an agent', 'DELETE', '/v1/agents/edge-1'],
];

describe.each([
  ['a non-integer', 'not a number'],
  ['an integer that cannot be incremented', '9223372036854775807'],
])('config-version holding %s', (_, stored) => {
  it.each(writes)('%s answers 500 and changes nothing', async (_name, method, path, body) => {
    await api.backend.redis.set(keys.configVersion(), stored);
    const before = await snapshot(api.backend);
    const res = await api.call(method, path, { body });
    expect(res.status).toBe(500);
    expect(res.body.error.type).toBe('redis_error');
    expect(res.body.error.message).toContain('config-version');
    expect(res.body.error.message).toContain('nothing was changed');
    expect(await snapshot(api.backend)).toEqual(before);
  });
});

describe('a set key of the wrong type', () => {
  it('agent-list as a string: a job PUT answers 500 and writes no job', async () => {
    await api.backend.redis.del(keys.agentList());
    await api.backend.redis.set(keys.agentList(), 'hand-written');
    const before = await snapshot(api.backend);
    const res = await api.call('PUT', '/v1/agents/edge-2/jobs/core', {
      body: { spec: '* * * * *', groups: ['dc1'] },
    });
    expect(res.status).toBe(500);
    expect(res.body.error.type).toBe('redis_error');
    expect(res.body.error.message).toContain('agent-list');
    expect(await snapshot(api.backend)).toEqual(before);
  });

  it('groups-list as a string: a group PUT answers 500 and writes no group', async () => {
    await api.backend.redis.set(keys.groupsList(), 'hand-written');
    const before = await snapshot(api.backend);
    const res = await api.call('PUT', '/v1/groups/x', { body: { ips: ['198.18.0.9'] } });
    expect(res.status).toBe(500);
    expect(await snapshot(api.backend)).toEqual(before);
  });

  it('still writes when the keys are merely absent', async () => {
    await api.backend.redis.flushdb();
    const res = await api.call('PUT', '/v1/groups/x', { body: { ips: ['198.18.0.9'] } });
    expect(res.status).toBe(200);
    expect(await api.backend.redis.get(keys.configVersion())).toBe('1');
  });
});
