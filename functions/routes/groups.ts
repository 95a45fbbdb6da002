import { createRoute, z } from '@hono/zod-openapi';
import { diffMembers } from '../../shared/store.ts';
import { storeOf } from '../env.ts';
import { apiError } from '../errors.ts';
import { groupTooLarge, MAX_GROUP_IPS, normaliseTargets } from '../ip-input.ts';
import { newRouter } from '../router.ts';
import {
  diffBody,
  errorResponse,
  groupBody,
  groupParams,
  json,
  patchGroupBody,
  putGroupBody,
} from '../schemas.ts';

// /v1/groups: named sets of IPs that jobs ping. Every change bumps the config version (the store
// does it in the same transaction), so agents pick it up within seconds.

export const groups = newRouter();

const tags = ['groups'];
const security = [{ bearer: [] }];

groups.openapi(
  createRoute({
    method: 'get',
    path: '/',
    tags,
    security,
    summary: 'List groups with their sizes',
    responses: {
      200: json(
        z.object({ groups: z.array(z.object({ name: z.string(), ip_count: z.number() })) }),
        'every group',
      ),
    },
  }),
  async (c) => {
    const store = storeOf(c);
    const names = await store.groups.list();
    const sizes = await store.groups.sizes(names);
    return c.json({ groups: names.map((name) => ({ name, ip_count: sizes.get(name) ?? 0 })) }, 200);
  },
);

groups.openapi(
  createRoute({
    method: 'get',
    path: '/{group}',
    tags,
    security,
    summary: "A group's IPs",
    request: { params: groupParams },
    responses: { 200: json(groupBody, 'the group'), 404: errorResponse('no such group') },
  }),
  async (c) => {
    const { group } = c.req.valid('param');
    const ips = await storeOf(c).groups.get(group);
    if (ips === null) throw noGroup(group);
    return c.json({ name: group, ip_count: ips.length, ips }, 200);
  },
);

groups.openapi(
  createRoute({
    method: 'put',
    path: '/{group}',
    tags,
    security,
    summary: "Replace a group's IPs (creates the group)",
    request: {
      params: groupParams,
      body: { required: true, content: { 'application/json': { schema: putGroupBody } } },
    },
    responses: {
      200: json(
        diffBody.extend({ name: z.string(), ip_count: z.number(), created: z.boolean() }),
        'replaced',
      ),
      413: errorResponse('body over 1 MB'),
      422: errorResponse('bad IPs, unknown fields or more than 65,536 IPs'),
    },
  }),
  async (c) => {
    const { group } = c.req.valid('param');
    const ips = normaliseTargets(c.req.valid('json').ips, 'ips');
    const store = storeOf(c);
    const before = await store.groups.get(group);
    await store.groups.replace(group, ips);
    const diff = diffMembers(before ?? [], ips);
    return c.json({ name: group, ip_count: ips.length, created: before === null, ...diff }, 200);
  },
);

groups.openapi(
  createRoute({
    method: 'patch',
    path: '/{group}',
    tags,
    security,
    summary: 'Add and remove IPs',
    request: {
      params: groupParams,
      body: { required: true, content: { 'application/json': { schema: patchGroupBody } } },
    },
    responses: {
      200: json(diffBody.extend({ name: z.string(), ip_count: z.number() }), 'what changed'),
      404: errorResponse('no such group (create it with PUT)'),
      413: errorResponse('body over 1 MB'),
      422: errorResponse('bad IPs, unknown fields or more than 65,536 IPs'),
    },
  }),
  async (c) => {
    const { group } = c.req.valid('param');
    const body = c.req.valid('json');
    const add = normaliseTargets(body.add ?? [], 'add');
    const remove = normaliseTargets(body.remove ?? [], 'remove');
    // A Set: both lists may hold tens of thousands of IPs, and a scan of one per entry of the
    // other would take the Worker's whole CPU budget.
    const removing = new Set(remove);
    const both = add.filter((ip) => removing.has(ip));
    if (both.length > 0) {
      throw apiError(422, 'validation', `${both[0]} is both added and removed`, { ips: both.slice(0, 20) });
    }
    const store = storeOf(c);
    const before = await store.groups.get(group);
    if (before === null) throw noGroup(group);
    const current = new Set(before);
    const added = add.filter((ip) => !current.has(ip));
    const removed = remove.filter((ip) => current.has(ip));
    const count = before.length + added.length - removed.length;
    if (count > MAX_GROUP_IPS) throw groupTooLarge(count);
    if (added.length > 0 || removed.length > 0) await store.groups.patch(group, added, removed);
    return c.json({ name: group, ip_count: count, added, removed }, 200);
  },
);

groups.openapi(
  createRoute({
    method: 'delete',
    path: '/{group}',
    tags,
    security,
    summary: 'Delete a group (409 while a job uses it, unless force=true)',
    request: {
      params: groupParams,
      query: z.strictObject({ force: z.enum(['true', 'false']).optional() }),
    },
    responses: {
      200: json(
        z.object({ deleted: z.string(), jobs: z.array(z.object({ agent: z.string(), job: z.string() })) }),
        'deleted',
      ),
      404: errorResponse('no such group'),
      409: errorResponse('jobs still use the group'),
    },
  }),
  async (c) => {
    const { group } = c.req.valid('param');
    const force = c.req.valid('query').force === 'true';
    const store = storeOf(c);
    // Existence only: reading the members (up to 65,536) would cost transfer and a sort for nothing.
    if (!(await store.groups.existing([group])).has(group)) throw noGroup(group);
    const users = await store.jobs.usingGroup(group, await store.agents.names());
    if (users.length > 0 && !force) {
      const names = users.map((u) => `${u.agent}/${u.job}`).join(', ');
      throw apiError(
        409,
        'conflict',
        `group ${group} is used by ${names}; change those jobs or pass ?force=true`,
        {
          jobs: users,
        },
      );
    }
    await store.groups.remove(group);
    return c.json({ deleted: group, jobs: users }, 200);
  },
);

export function noGroup(group: string) {
  return apiError(404, 'not_found', `no group named ${group}`, { group });
}
