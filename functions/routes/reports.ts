import { createRoute, z } from '@hono/zod-openapi';
import { HISTORY } from '../../shared/store.ts';
import {
  pageSize,
  parseCursor,
  planPage,
  REPORT_CURSOR_PATTERN,
  scanFor,
  troubledOf,
} from '../check/report-order.ts';
import { measure } from '../check/verdict.ts';
import { storeOf } from '../env.ts';
import { pathIp } from '../ip-input.ts';
import { newRouter } from '../router.ts';
import {
  agentName,
  agentParams,
  errorResponse,
  groupParams,
  historyPointBody,
  ipAddress,
  ipStatusBody,
  json,
  queryInteger,
} from '../schemas.ts';
import { noGroup } from './groups.ts';

// What the agents measured: one agent's statuses and err list, a group seen by every agent that
// probes it, and one IP's history ready to plot.

export const reports = newRouter();

const tags = ['reports'];
const security = [{ bearer: [] }];

reports.openapi(
  createRoute({
    method: 'get',
    path: '/agents/{agent}/ips',
    tags,
    security,
    summary: 'A page of the agent\'s IP statuses (SCAN; follow `cursor` until it is "0")',
    request: {
      params: agentParams,
      query: z.strictObject({
        cursor: z
          .string()
          .regex(/^[0-9]{1,20}$/, 'must be a cursor from a previous page')
          // Redis cursors are unsigned 64-bit; a larger one would be a Redis error, not a 400.
          // (zod runs this even when the pattern failed, hence the guard before BigInt.)
          .refine(
            (v) => !/^[0-9]+$/.test(v) || BigInt(v) <= 0xffff_ffff_ffff_ffffn,
            'must be a cursor from a previous page',
          )
          .optional(),
        count: queryInteger(1, 1000).optional().openapi({ description: 'keys SCAN looks at, default 200' }),
      }),
    },
    responses: {
      200: json(
        z.object({ agent: z.string(), cursor: z.string(), statuses: z.array(ipStatusBody) }),
        'a page',
      ),
    },
  }),
  async (c) => {
    const { agent } = c.req.valid('param');
    const { cursor, count } = c.req.valid('query');
    const page = await storeOf(c).statuses.page(agent, cursor ?? '0', count ?? 200);
    return c.json({ agent, cursor: page.cursor, statuses: page.statuses }, 200);
  },
);

reports.openapi(
  createRoute({
    method: 'get',
    path: '/agents/{agent}/errors',
    tags,
    security,
    summary: "The agent's err list, each IP with its status",
    request: { params: agentParams },
    responses: {
      200: json(
        z.object({
          agent: z.string(),
          errors: z.array(z.object({ ip: z.string(), status: ipStatusBody.nullable() })),
        }),
        'the err list',
      ),
    },
  }),
  async (c) => {
    const { agent } = c.req.valid('param');
    const store = storeOf(c);
    const ips = await store.statuses.errList(agent);
    const statuses = await store.statuses.get(agent, ips);
    return c.json({ agent, errors: ips.map((ip) => ({ ip, status: statuses.get(ip) ?? null })) }, 200);
  },
);

reports.openapi(
  createRoute({
    method: 'get',
    path: '/groups/{group}/report',
    tags,
    security,
    summary: "Every agent's view of the group's IPs, a page at a time, troubled IPs first",
    request: {
      params: groupParams,
      query: z.strictObject({
        cursor: z
          .string()
          .regex(REPORT_CURSOR_PATTERN, 'must be a cursor from a previous page')
          .optional()
          .openapi({ description: 'from the previous page; absent for the first' }),
        limit: queryInteger(1, 5_000).optional().openapi({
          description: 'IPs per page, default 500; lowered so a page holds at most 6,000 (agent, IP) cells',
        }),
      }),
    },
    responses: {
      200: json(
        z.object({
          group: z.string(),
          agents: z.array(z.object({ name: z.string(), online: z.boolean(), jobs: z.array(z.string()) })),
          total: z.number().openapi({ description: "the group's IP count" }),
          troubled: z
            .number()
            .openapi({ description: "IPs some agent's summary shows in trouble; they come first" }),
          cursor: z
            .string()
            .nullable()
            .openapi({ description: 'pass back for the next page; null on the last' }),
          ips: z.array(
            z.object({
              ip: z.string(),
              agents: z.record(
                z.string(),
                z
                  .object({
                    loss: z.number().nullable(),
                    rtt_ms: z.number().nullable(),
                    age_s: z.number().nullable(),
                    err: z.string().nullable(),
                  })
                  .nullable(),
              ),
            }),
          ),
        }),
        'the report; an agent maps to null for an IP it has no status of',
      ),
      404: errorResponse('no such group'),
    },
  }),
  async (c) => {
    const { group } = c.req.valid('param');
    const query = c.req.valid('query');
    const cursor = query.cursor === undefined ? null : parseCursor(query.cursor);
    const limit = query.limit ?? 500;
    let total = 0;
    let troubled = 0;
    let next: string | null = null;
    // The page is chosen once the summaries are read, so its statuses still go in the third trip;
    // its SSCAN batch goes in the first, before the page size (which depends on the agents) is known.
    const view = await storeOf(c).groupView.readPage(group, scanFor(cursor, limit), (source) => {
      const order = troubledOf(source.summaries, source.digest);
      const plan = planPage({
        cursor,
        size: pageSize(limit, source.candidateAgents),
        troubled: order.troubled,
        stamp: order.stamp,
        scanned: source.scanned,
        nextScan: source.nextScan,
      });
      total = source.memberCount;
      troubled = order.troubled.length;
      next = plan.next;
      return plan.ips;
    });
    if (!view) throw noGroup(group);
    const now = Date.now();
    const since = new Map<string, number>();
    for (const [agent, summary] of view.summaries ?? []) {
      if (summary.digest === view.digest) since.set(agent, Date.parse(summary.computed_at));
    }
    const ips = view.ips.map((ip) => ({
      ip,
      agents: Object.fromEntries(
        view.agents.map((a) => {
          const status = view.statuses.get(a.name)?.get(ip);
          return [a.name, status ? { ...measure(status, now, since.get(a.name)), err: status.err } : null];
        }),
      ),
    }));
    return c.json({ group, agents: view.agents, total, troubled, cursor: next, ips }, 200);
  },
);

const RANGES = {
  '1h': { resolution: 'minute', seconds: 3600 },
  '24h': { resolution: 'minute', seconds: 24 * 3600 },
  '30d': { resolution: 'hour', seconds: 30 * 24 * 3600 },
} as const;

reports.openapi(
  createRoute({
    method: 'get',
    path: '/agents/{agent}/ips/{ip}/history',
    tags,
    security,
    summary: 'Per-minute (1h, 24h) or per-hour (30d) buckets of one IP, oldest first',
    request: {
      params: z.object({
        agent: agentName.openapi({ param: { name: 'agent', in: 'path' } }),
        ip: ipAddress.openapi({ param: { name: 'ip', in: 'path' } }),
      }),
      query: z.strictObject({ range: z.enum(['1h', '24h', '30d']).optional() }),
    },
    responses: {
      200: json(
        z.object({
          agent: z.string(),
          ip: z.string(),
          range: z.string(),
          resolution: z.string(),
          bucket_s: z.number(),
          points: z.array(historyPointBody),
        }),
        'the points',
      ),
    },
  }),
  async (c) => {
    const { agent, ip: rawIp } = c.req.valid('param');
    const ip = pathIp(rawIp);
    const range = c.req.valid('query').range ?? '1h';
    const { resolution, seconds } = RANGES[range];
    const now = Math.floor(Date.now() / 1000);
    const points = await storeOf(c).history.range(agent, ip, resolution, now - seconds, now);
    return c.json({ agent, ip, range, resolution, bucket_s: HISTORY[resolution].bucketSeconds, points }, 200);
  },
);
