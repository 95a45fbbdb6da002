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
  await api.call('PUT', '/v1/groups/dc1', { body: { ips: ['198.18.0.1'] } });
  await api.call('PUT', '/v1/groups/dc2', { body: { ips: ['198.18.0.2'] } });
});

describe('jobs', () => {
  it("stores the seed's value and lists the name, bumping the version", async () => {
    const before = Number(await api.backend.redis.get(keys.configVersion()));
    const res = await api.call('PUT', '/v1/agents/edge-1/jobs/core', {
      body: { spec: '*/10 * * * * *', groups: ['dc1', 'dc2', 'dc1'], count: 3, timeout_ms: 500 },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ created: true, SPEC: '*/10 * * * * *', group: ['dc1', 'dc2'] });
    expect(JSON.parse(String(await api.backend.redis.get(keys.agentJob('edge-1', 'core'))))).toEqual({
      SPEC: '*/10 * * * * *',
      name: 'core',
      group: ['dc1', 'dc2'],
      count: 3,
      timeout_ms: 500,
    });
    expect(await api.backend.redis.smembers(keys.agentJobs('edge-1'))).toEqual(['core']);
    expect(Number(await api.backend.redis.get(keys.configVersion()))).toBe(before + 1);
    const again = await api.call('PUT', '/v1/agents/edge-1/jobs/core', {
      body: { spec: '* * * * *', groups: ['dc2'] },
    });
    expect(again.body.created).toBe(false);
  });

  it('reads one job, the list, and shows a hand-written broken job as a problem', async () => {
    await api.call('PUT', '/v1/agents/edge-1/jobs/core', { body: { spec: '* * * * *', groups: ['dc1'] } });
    await api.backend.redis.sadd(keys.agentJobs('edge-1'), 'broken');
    await api.backend.redis.set(keys.agentJob('edge-1', 'broken'), '{"SPEC": 5}');
    const one = await api.call('GET', '/v1/agents/edge-1/jobs/core');
    expect(one.body).toEqual({ SPEC: '* * * * *', name: 'core', group: ['dc1'] });
    const list = await api.call('GET', '/v1/agents/edge-1/jobs');
    expect(list.body.jobs.map((j: { name: string }) => j.name)).toEqual(['broken', 'core']);
    expect(list.body.jobs[0].problem).toContain('agent_edge-1_broken');
    expect((await api.call('GET', '/v1/agents/edge-1/jobs/none')).status).toBe(404);
  });

  it('refuses unknown groups naming them, and a bad SPEC, with 422', async () => {
    const unknown = await api.call('PUT', '/v1/agents/edge-1/jobs/core', {
      body: { spec: '* * * * *', groups: ['dc1', 'ghost', 'phantom'] },
    });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error).toMatchObject({ type: 'unknown_groups', groups: ['ghost', 'phantom'] });
    for (const spec of ['* * *', '61 * * * *', 'every minute']) {
      const bad = await api.call('PUT', '/v1/agents/edge-1/jobs/core', { body: { spec, groups: ['dc1'] } });
      expect(bad.status).toBe(422);
      expect(bad.body.error.type).toBe('invalid_spec');
    }
    const fields = await api.call('PUT', '/v1/agents/edge-1/jobs/core', {
      body: { spec: '* * * * *', groups: ['dc1'], SPEC: '* * * * *' },
    });
    expect(fields.status).toBe(422);
    const limits = await api.call('PUT', '/v1/agents/edge-1/jobs/core', {
      body: { spec: '* * * * *', groups: ['dc1'], count: 0 },
    });
    expect(limits.status).toBe(422);
    expect(await api.backend.redis.exists(keys.agentJob('edge-1', 'core'))).toBe(0);
  });

  it('refuses an agent name with "_" (it would make keys ambiguous) with 400', async () => {
    const res = await api.call('PUT', '/v1/agents/edge_1/jobs/core', {
      body: { spec: '* * * * *', groups: ['dc1'] },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('agent name');
  });

  it('deletes a job, then answers 404 without touching anything', async () => {
    await api.call('PUT', '/v1/agents/edge-1/jobs/core', { body: { spec: '* * * * *', groups: ['dc1'] } });
    expect((await api.call('DELETE', '/v1/agents/edge-1/jobs/core')).status).toBe(200);
    expect(await api.backend.redis.exists(keys.agentJob('edge-1', 'core'))).toBe(0);
    const before = await snapshot(api.backend);
    expect((await api.call('DELETE', '/v1/agents/edge-1/jobs/core')).status).toBe(404);
    expect(await snapshot(api.backend)).toEqual(before);
  });
});

describe('agents', () => {
  const heartbeat = {
    version: '0.1.0',
    hostname: 'host-1',
    pid: 42,
    started_at: new Date().toISOString(),
    jobs: ['core'],
  };

  it('lists agents with online state, heartbeat, job count and err-list size', async () => {
    await api.backend.redis.sadd(keys.agentList(), 'edge-1', 'edge-2');
    await api.backend.redis.set(keys.agentOnline('edge-1'), JSON.stringify(heartbeat), { ex: 60 });
    await api.backend.redis.sadd(keys.agentErrList('edge-1'), '198.18.0.1');
    await api.call('PUT', '/v1/agents/edge-1/jobs/core', { body: { spec: '* * * * *', groups: ['dc1'] } });
    const res = await api.call('GET', '/v1/agents');
    expect(res.body.agents).toEqual([
      { name: 'edge-1', online: true, heartbeat, job_count: 1, err_count: 1 },
      { name: 'edge-2', online: false, heartbeat: null, job_count: 0, err_count: 0 },
    ]);
    expect((await api.call('GET', '/v1/agents/edge-2')).body.online).toBe(false);
    expect((await api.call('GET', '/v1/agents/nobody')).status).toBe(404);
  });

  it('deletes an agent with its jobs, registration, heartbeat and err list', async () => {
    await api.backend.redis.sadd(keys.agentList(), 'edge-1');
    await api.backend.redis.set(keys.agentOnline('edge-1'), JSON.stringify(heartbeat), { ex: 60 });
    await api.backend.redis.sadd(keys.agentErrList('edge-1'), '198.18.0.1');
    await api.call('PUT', '/v1/agents/edge-1/jobs/core', { body: { spec: '* * * * *', groups: ['dc1'] } });
    expect((await api.call('DELETE', '/v1/agents/edge-1')).status).toBe(200);
    for (const key of [
      keys.agentOnline('edge-1'),
      keys.agentErrList('edge-1'),
      keys.agentJobs('edge-1'),
      keys.agentJob('edge-1', 'core'),
    ]) {
      expect(await api.backend.redis.exists(key)).toBe(0);
    }
    expect(await api.backend.redis.smembers(keys.agentList())).toEqual([]);
    const before = await snapshot(api.backend);
    expect((await api.call('DELETE', '/v1/agents/edge-1')).status).toBe(404);
    expect(await snapshot(api.backend)).toEqual(before);
  });
});
