import { createRoute, z } from '@hono/zod-openapi';
import {
  AGENT_STATES,
  type DerivedState,
  MEASUREMENT_ID_PATTERN,
  MEASUREMENT_LIMITS,
  type MeasurementRequest,
  measurementAgentState,
  measurementDeadline,
  newMeasurementId,
  targetFiguresSchema,
} from '../../shared/measurement-schema.ts';
import type { MeasurementCandidate } from '../../shared/store/measurements.ts';
import { type AppContext, measureBindings, storeOf } from '../env.ts';
import { apiError } from '../errors.ts';
import { measurementTargets } from '../measure-targets.ts';
import { newRouter } from '../router.ts';
import { agentName, errorResponse, groupName, ipEntry, json, queryInteger } from '../schemas.ts';
import { noGroup } from './groups.ts';

// /v1/measurements: a client (a CI pipeline, mostly) asks chosen agents to ping chosen targets
// now. POST stores the request and pushes it to the agents on the config channel (they start
// within a second; one whose stream was down finds it in `measurement-pending` when it
// subscribes again); GET reads what they measured, optionally waiting up to 25 s for the end. An
// agent's state is derived at each read from what it wrote and its heartbeat, so one that died
// or restarted shows `failed` instead of leaving the measurement open.

export const measurements = newRouter();

const tags = ['measurements'];
const security = [{ bearer: [] }];
const { count, interval_ms, timeout_ms } = MEASUREMENT_LIMITS;
/** The fixed window of the per-token rate limit. */
const RATE_WINDOW_S = 60;
/** How often a waiting GET looks at the agents' states (two small MGETs each time). */
const WAIT_POLL_MS = 200;

const agentSelection = z
  .union([
    z.array(agentName).min(1).max(1_024),
    z.strictObject({ any: z.number().int().min(1).max(1_024) }),
    z.literal('all'),
  ])
  .openapi({
    description: 'named agents, `{"any": n}` online agents picked at random, or "all" online agents',
    example: ['edge-1', 'edge-2'],
  });

const postBody = z
  .strictObject({
    targets: z
      .array(ipEntry)
      .min(1)
      .max(MEASUREMENT_LIMITS.targets)
      .optional()
      .openapi({
        description: 'IP addresses or CIDR blocks (up to /22; /118 for IPv6)',
        example: ['198.18.0.1'],
      }),
    group: groupName.optional().openapi({ description: "instead of targets: the group's IPs" }),
    agents: agentSelection.optional().openapi({ description: 'default "all"' }),
    count: z
      .number()
      .int()
      .min(count.min)
      .max(count.max)
      .optional()
      .openapi({ description: `packets per target, default ${count.default}` }),
    interval_ms: z
      .number()
      .int()
      .min(interval_ms.min)
      .max(interval_ms.max)
      .optional()
      .openapi({ description: `between two packets to one target, default ${interval_ms.default}` }),
    timeout_ms: z
      .number()
      .int()
      .min(timeout_ms.min)
      .max(timeout_ms.max)
      .optional()
      .openapi({ description: `wait for each reply, default ${timeout_ms.default}` }),
  })
  .superRefine((body, ctx) => {
    if ((body.targets === undefined) === (body.group === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['targets'], message: 'give either targets or group, not both' });
    }
  })
  .openapi('MeasurementRequest');

const acceptedBody = z
  .object({
    id: z.string(),
    agents: z.array(z.string()).openapi({ description: 'the agents chosen and online, now measuring' }),
    offline: z.array(z.string()).openapi({ description: 'agents named but offline: not measuring' }),
    targets: z.number().openapi({ description: 'addresses measured' }),
    deadline_at: z.string().openapi({ description: 'an agent not finished by then is `failed`' }),
  })
  .openapi('MeasurementAccepted');

const agentResultBody = z.object({
  name: z.string(),
  state: z.enum(AGENT_STATES),
  error: z.string().optional(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  results: z
    .array(targetFiguresSchema.meta({ id: 'MeasurementTarget' }))
    .nullable()
    .openapi({ description: 'per target, the figures of `ping-agent probe --json`; null until finished' }),
});

const resultBody = z
  .object({
    id: z.string(),
    done: z.boolean().openapi({ description: 'every agent is finished, offline or failed' }),
    created_at: z.string(),
    deadline_at: z.string(),
    count: z.number(),
    interval_ms: z.number(),
    timeout_ms: z.number(),
    targets: z.array(z.string()),
    agents: z.array(agentResultBody),
  })
  .openapi('MeasurementResult');

measurements.openapi(
  createRoute({
    method: 'post',
    path: '/',
    tags,
    security,
    summary: 'Ask agents to ping targets now',
    request: { body: { content: { 'application/json': { schema: postBody } }, required: true } },
    responses: {
      202: json(acceptedBody, 'accepted; read the result at GET /v1/measurements/{id}'),
      404: errorResponse('no such group, or a named agent that never registered'),
      409: errorResponse('no agent online to measure from'),
      422: errorResponse(
        'a target that cannot be measured (multicast, broadcast, unspecified, loopback unless MEASURE_ALLOW_LOOPBACK, outside MEASURE_ALLOW), over 1,024 targets, over 100 packets per target, or over 60 s of probing',
      ),
      429: {
        ...errorResponse('this token asked for too many measurements this minute'),
        headers: z.object({
          'Retry-After': z.string().openapi({ description: 'seconds until the window ends', example: '42' }),
        }),
      },
    },
  }),
  async (c) => {
    const body = c.req.valid('json');
    const store = storeOf(c);
    const { allow, allowLoopback, perMinute } = measureBindings(c.env);
    const now = Date.now();
    const rate = await store.measurements.countRequest(clientOf(c), RATE_WINDOW_S, now);
    if (rate.count > perMinute) {
      const error = apiError(
        429,
        'rate_limited',
        `this token may ask for ${perMinute} measurements a minute; try again in ${rate.resetInS} s`,
        { limit: perMinute, retry_after_s: rate.resetInS },
      );
      error.res!.headers.set('retry-after', String(rate.resetInS));
      throw error;
    }

    let entries = body.targets;
    let field = 'targets';
    if (body.group !== undefined) {
      const members = await store.groups.get(body.group);
      if (members === null) throw noGroup(body.group);
      if (members.length === 0) throw apiError(422, 'empty_group', `group ${body.group} holds no IPs`);
      entries = members;
      field = `group ${body.group}`;
    }
    const targets = measurementTargets(entries!, field, allow, allowLoopback);

    const selection = body.agents ?? 'all';
    const named = Array.isArray(selection) ? [...new Set(selection)] : undefined;
    const candidates = await store.measurements.candidates(named);
    const unknown = candidates.filter((a) => !a.listed && a.startedAt === null).map((a) => a.name);
    if (unknown.length > 0) {
      throw apiError(404, 'not_found', `no agent named ${unknown.join(', ')}`, { agents: unknown });
    }
    const online = candidates.filter((a) => a.startedAt !== null);
    const chosen = typeof selection === 'object' && 'any' in selection ? pick(online, selection.any) : online;
    const offline = named ? candidates.filter((a) => a.startedAt === null).map((a) => a.name) : [];
    if (chosen.length === 0 && offline.length === 0) {
      throw apiError(409, 'no_agent_online', 'no agent is online to measure from');
    }

    const settings = {
      count: body.count ?? count.default,
      interval_ms: body.interval_ms ?? interval_ms.default,
      timeout_ms: body.timeout_ms ?? timeout_ms.default,
    };
    const durationMs = (settings.count - 1) * settings.interval_ms + settings.timeout_ms;
    if (durationMs > MEASUREMENT_LIMITS.duration_ms) {
      throw apiError(
        422,
        'too_long',
        `count ${settings.count} at interval_ms ${settings.interval_ms} with timeout_ms ${settings.timeout_ms} would probe for ${durationMs} ms; a measurement lasts at most ${MEASUREMENT_LIMITS.duration_ms} ms`,
        { limit_ms: MEASUREMENT_LIMITS.duration_ms, duration_ms: durationMs },
      );
    }
    const request: MeasurementRequest = {
      id: newMeasurementId(),
      created_at: now,
      deadline_at: measurementDeadline(now, { targets: targets.length, ...settings }),
      targets,
      agents: chosen.map((a) => ({ name: a.name, started_at: a.startedAt! })),
      offline,
      ...settings,
    };
    await store.measurements.create(request);
    c.header('location', `/v1/measurements/${request.id}`);
    return c.json(
      {
        id: request.id,
        agents: request.agents.map((a) => a.name),
        offline,
        targets: targets.length,
        deadline_at: new Date(request.deadline_at).toISOString(),
      },
      202,
    );
  },
);

const idParams = z.object({
  id: z
    .string()
    .regex(MEASUREMENT_ID_PATTERN, 'not a measurement id')
    .openapi({ param: { name: 'id', in: 'path' }, example: '0k3v9x2m4q8w1r7t5y6u' }),
});

measurements.openapi(
  createRoute({
    method: 'get',
    path: '/{id}',
    tags,
    security,
    summary: "A measurement's state and figures per agent and target",
    request: {
      params: idParams,
      query: z.strictObject({
        wait_s: queryInteger(0, MEASUREMENT_LIMITS.wait_s)
          .optional()
          .openapi({ description: 'answer as soon as every agent is done, or after this many seconds' }),
      }),
    },
    responses: {
      200: json(resultBody, 'the measurement; `done` says whether it can still change'),
      404: errorResponse('no such measurement (or it expired, an hour after it was asked for)'),
    },
  }),
  async (c) => {
    const { id } = c.req.valid('param');
    const waitS = c.req.valid('query').wait_s ?? 0;
    const store = storeOf(c).measurements;
    const request = await store.request(id);
    if (!request) throw apiError(404, 'not_found', `no measurement ${id}; results are kept for an hour`);
    const waitUntil = Date.now() + waitS * 1000;
    for (;;) {
      const progress = await store.progress(request);
      const now = Date.now();
      const states = progress.map((p, i) =>
        measurementAgentState(request.agents[i]!, p.stored, p.heartbeatStartedAt, request.deadline_at, now),
      );
      const done = states.every((s) => s.state === 'finished' || s.state === 'failed');
      if (done || now >= waitUntil) {
        const finished = progress.filter((_, i) => states[i]!.state === 'finished').map((p) => p.name);
        const figures = await store.results(request.id, finished);
        const byAgent = new Map(finished.map((name, i) => [name, figures[i] ?? null]));
        return c.json(answer(request, progress, states, byAgent, done), 200);
      }
      // Waiting costs no CPU time on Workers, only wall time.
      await new Promise((resolve) => setTimeout(resolve, Math.min(WAIT_POLL_MS, waitUntil - now)));
    }
  },
);

function answer(
  request: MeasurementRequest,
  progress: Awaited<ReturnType<ReturnType<typeof storeOf>['measurements']['progress']>>,
  states: DerivedState[],
  figures: Map<string, z.infer<typeof targetFiguresSchema>[] | null>,
  done: boolean,
) {
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  return {
    id: request.id,
    done,
    created_at: new Date(request.created_at).toISOString(),
    deadline_at: new Date(request.deadline_at).toISOString(),
    count: request.count,
    interval_ms: request.interval_ms,
    timeout_ms: request.timeout_ms,
    targets: request.targets,
    agents: [
      ...progress.map((p, i) => ({
        name: p.name,
        ...states[i]!,
        started_at: iso(p.stored?.started_at),
        finished_at: iso(p.stored?.finished_at),
        results: figures.get(p.name) ?? null,
      })),
      ...request.offline.map((name) => ({
        name,
        state: 'offline' as const,
        started_at: null,
        finished_at: null,
        results: null,
      })),
    ],
  };
}

/** n online agents at random. */
function pick(online: MeasurementCandidate[], n: number): MeasurementCandidate[] {
  const pool = [...online];
  for (let i = pool.length - 1; i > 0; i--) {
    const j = crypto.getRandomValues(new Uint32Array(1))[0]! % (i + 1);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, n).sort((a, b) => a.name.localeCompare(b.name));
}

/** A token's rate-limit identity: the digest auth made of it, so the token never becomes a key. */
function clientOf(c: AppContext): string {
  const digest = c.get('tokenDigest');
  if (!digest) throw new Error('measurements are served only behind requireToken');
  return Array.from(new Uint8Array(digest, 0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
}
