import { createRoute, z } from '@hono/zod-openapi';
import { cronSpecProblem } from '../../shared/cron-spec.ts';
import type { JobValue } from '../../shared/schema.ts';
import type { StoredJob } from '../../shared/store.ts';
import { storeOf } from '../env.ts';
import { apiError } from '../errors.ts';
import { newRouter } from '../router.ts';
import {
  agentParams,
  errorResponse,
  jobBody,
  jobParams,
  json,
  putJobBody,
  storedJobBody,
} from '../schemas.ts';

// /v1/agents/{agent}/jobs: the cron jobs an agent runs, stored as the seed wrote them
// (`agent_{agent}_{job}` = {"SPEC", "name", "group"}), so hand-written jobs and API jobs look alike.

export const jobs = newRouter();

const tags = ['jobs'];
const security = [{ bearer: [] }];

jobs.openapi(
  createRoute({
    method: 'get',
    path: '/{agent}/jobs',
    tags,
    security,
    summary: "An agent's jobs",
    request: { params: agentParams },
    responses: {
      200: json(z.object({ agent: z.string(), jobs: z.array(jobBody) }), 'the jobs'),
    },
  }),
  async (c) => {
    const { agent } = c.req.valid('param');
    const list = await storeOf(c).jobs.list(agent);
    return c.json({ agent, jobs: list.map(jobView) }, 200);
  },
);

jobs.openapi(
  createRoute({
    method: 'get',
    path: '/{agent}/jobs/{job}',
    tags,
    security,
    summary: 'One job',
    request: { params: jobParams },
    responses: { 200: json(jobBody, 'the job'), 404: errorResponse('no such job') },
  }),
  async (c) => {
    const { agent, job } = c.req.valid('param');
    const stored = await storeOf(c).jobs.get(agent, job);
    if (!stored) throw noJob(agent, job);
    return c.json(jobView(stored), 200);
  },
);

jobs.openapi(
  createRoute({
    method: 'put',
    path: '/{agent}/jobs/{job}',
    tags,
    security,
    summary: 'Create or replace a job',
    request: {
      params: jobParams,
      body: { required: true, content: { 'application/json': { schema: putJobBody } } },
    },
    responses: {
      200: json(storedJobBody.extend({ created: z.boolean() }), 'stored'),
      413: errorResponse('body over 1 MB'),
      422: errorResponse('bad SPEC, unknown groups or unknown fields'),
    },
  }),
  async (c) => {
    const { agent, job } = c.req.valid('param');
    const body = c.req.valid('json');
    const problem = cronSpecProblem(body.spec);
    if (problem) throw apiError(422, 'invalid_spec', problem, { spec: body.spec });
    const groups = [...new Set(body.groups)];
    const store = storeOf(c);
    const existing = await store.groups.existing(groups);
    const unknown = groups.filter((g) => !existing.has(g));
    if (unknown.length > 0) {
      throw apiError(
        422,
        'unknown_groups',
        `no group named ${unknown.join(', ')}; create it first with PUT /v1/groups/{group}`,
        {
          groups: unknown,
        },
      );
    }
    const value: JobValue = { SPEC: body.spec.trim(), name: job, group: groups };
    if (body.count !== undefined) value.count = body.count;
    if (body.timeout_ms !== undefined) value.timeout_ms = body.timeout_ms;
    if (body.size !== undefined) value.size = body.size;
    const before = await store.jobs.get(agent, job);
    // The store lists the agent too, in the same all-or-nothing write.
    await store.jobs.put(agent, value);
    return c.json({ ...value, created: before === null }, 200);
  },
);

jobs.openapi(
  createRoute({
    method: 'delete',
    path: '/{agent}/jobs/{job}',
    tags,
    security,
    summary: 'Delete a job',
    request: { params: jobParams },
    responses: {
      200: json(z.object({ deleted: z.string(), agent: z.string() }), 'deleted'),
      404: errorResponse('no such job'),
    },
  }),
  async (c) => {
    const { agent, job } = c.req.valid('param');
    const store = storeOf(c);
    // The store changes nothing, not even the config version, when there was no such job.
    if (!(await store.jobs.remove(agent, job))) throw noJob(agent, job);
    return c.json({ deleted: job, agent }, 200);
  },
);

function jobView(stored: StoredJob) {
  return stored.job ? { ...stored.job, name: stored.name } : { name: stored.name, problem: stored.problem };
}

function noJob(agent: string, job: string) {
  return apiError(404, 'not_found', `agent ${agent} has no job named ${job}`, { agent, job });
}
