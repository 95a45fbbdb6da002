import { createRoute, z } from '@hono/zod-openapi';
import {
  ALERT_LIMITS,
  type AlertRule,
  type AlertState,
  alertNameSchema,
  deliveryLogSchema,
  groupRuleFields,
  offlineRuleFields,
} from '../../shared/alert-schema.ts';
import { alertStore, DELIVERY_LOG_LENGTH } from '../../shared/store/alerts.ts';
import { storeOf } from '../env.ts';
import { apiError } from '../errors.ts';
import { newRouter } from '../router.ts';
import { errorResponse, json } from '../schemas.ts';

// /v1/alerts: rules the scheduled handler evaluates every minute (functions/alerts/). A group rule
// fails when /v1/check with its limits would answer 412; an agent_offline rule fails while one of
// its agents has no heartbeat. Either must fail for `for_s` before it fires.

export const alerts = newRouter();

const tags = ['alerts'];
const security = [{ bearer: [] }];

const name = alertNameSchema.meta({ example: 'dc1-loss' });
const params = z.object({ name: name.openapi({ param: { name: 'name', in: 'path' } }) });

const ruleFields = { name: name.optional().openapi({ description: 'the path name, when given' }) };
const putBody = z
  .preprocess(
    // The issue's and the docs' examples leave `type` out of group rules.
    (v) => (v && typeof v === 'object' && !Array.isArray(v) && !('type' in v) ? { ...v, type: 'group' } : v),
    z.discriminatedUnion('type', [
      z.strictObject({ ...ruleFields, ...groupRuleFields, type: z.literal('group') }),
      z.strictObject({ ...ruleFields, ...offlineRuleFields }),
    ]),
  )
  .openapi('AlertRulePut');

const stateBody = z
  .object({
    phase: z.enum(['ok', 'pending', 'firing', 'resolved']),
    since: z
      .string()
      .nullable()
      .openapi({ description: 'when this phase began; null before the first evaluation' }),
    failing_count: z.number(),
    version: z.number(),
  })
  .openapi('AlertState');

const ruleBody = z
  .looseObject({
    name: z.string(),
    type: z.enum(['group', 'agent_offline']),
    for_s: z.number(),
    notify: z.array(z.string()),
    state: stateBody,
  })
  .openapi('AlertRule');

function shown(rule: AlertRule, state: AlertState | null) {
  const { id: _id, ...fields } = rule;
  return {
    ...fields,
    state: {
      phase: state?.phase ?? 'ok',
      since: state && state.version > 0 ? new Date(state.since_ms).toISOString() : null,
      failing_count: state?.observation?.failing_count ?? 0,
      version: state?.version ?? 0,
    },
  };
}

alerts.openapi(
  createRoute({
    method: 'get',
    path: '/',
    tags,
    security,
    summary: 'List alert rules with their states',
    responses: {
      200: json(
        z.object({
          alerts: z.array(ruleBody),
          problems: z.array(z.object({ name: z.string(), problem: z.string() })),
        }),
        'every rule; `problems` lists stored rules that do not parse',
      ),
    },
  }),
  async (c) => {
    const store = alertStore(storeOf(c));
    const { rules, problems } = await store.rules();
    const states = await store.states(rules);
    return c.json({ alerts: states.map((s) => shown(s.rule, s.claimed ?? s.state)), problems }, 200);
  },
);

alerts.openapi(
  createRoute({
    method: 'get',
    path: '/{name}',
    tags,
    security,
    summary: 'One alert rule with its state',
    request: { params },
    responses: { 200: json(ruleBody, 'the rule'), 404: errorResponse('no such rule') },
  }),
  async (c) => {
    const { name: n } = c.req.valid('param');
    const store = alertStore(storeOf(c));
    const rule = await store.rule(n);
    if (!rule) throw noRule(n);
    const [s] = await store.states([rule]);
    return c.json(shown(rule, s!.claimed ?? s!.state), 200);
  },
);

alerts.openapi(
  createRoute({
    method: 'put',
    path: '/{name}',
    tags,
    security,
    summary: 'Create or replace an alert rule',
    description: `Group rule: {group, agents?, max_loss, max_rtt_ms?, max_age_s?, for_s (default ${ALERT_LIMITS.for_s.default}), notify}. Offline rule: {type: "agent_offline", agents?, for_s, notify}. Replacing a rule keeps its state.`,
    request: { params, body: { required: true, content: { 'application/json': { schema: putBody } } } },
    responses: {
      200: json(ruleBody.extend({ created: z.boolean() }), 'saved'),
      422: errorResponse('bad fields, a name that differs from the path, an unknown notifier'),
    },
  }),
  async (c) => {
    const { name: n } = c.req.valid('param');
    const { name: bodyName, ...body } = c.req.valid('json');
    if (bodyName !== undefined && bodyName !== n) {
      throw apiError(422, 'validation', `the body names the rule ${bodyName}, the path ${n}`, {
        field: 'name',
      });
    }
    const store = alertStore(storeOf(c));
    const known = new Set(await store.notifierNames());
    const unknown = body.notify.filter((x) => !known.has(x));
    if (unknown.length > 0) {
      throw apiError(
        422,
        'validation',
        `notify names no notifier called ${unknown.join(', ')}; create it under /v1/notifiers`,
        {
          field: 'notify',
          notifiers: unknown,
        },
      );
    }
    const before = await store.ruleIfReadable(n);
    const id = before?.id ?? randomHex(8);
    const rule = { ...body, name: n, id, for_s: body.for_s ?? ALERT_LIMITS.for_s.default } as AlertRule;
    await store.putRule(rule);
    const [s] = await store.states([rule]);
    return c.json({ ...shown(rule, s!.claimed ?? s!.state), created: before === null }, 200);
  },
);

alerts.openapi(
  createRoute({
    method: 'delete',
    path: '/{name}',
    tags,
    security,
    summary: 'Delete an alert rule, its state and its delivery log',
    request: { params },
    responses: {
      200: json(z.object({ deleted: z.string() }), 'deleted'),
      404: errorResponse('no such rule'),
    },
  }),
  async (c) => {
    const { name: n } = c.req.valid('param');
    if (!(await alertStore(storeOf(c)).deleteRule(n))) throw noRule(n);
    return c.json({ deleted: n }, 200);
  },
);

alerts.openapi(
  createRoute({
    method: 'get',
    path: '/{name}/deliveries',
    tags,
    security,
    summary: `The rule's last ${DELIVERY_LOG_LENGTH} delivery attempts, newest first`,
    request: { params },
    responses: {
      200: json(
        z.object({ name: z.string(), deliveries: z.array(deliveryLogSchema.meta({ id: 'AlertDelivery' })) }),
        'the log',
      ),
      404: errorResponse('no such rule'),
    },
  }),
  async (c) => {
    const { name: n } = c.req.valid('param');
    const store = alertStore(storeOf(c));
    if (!(await store.hasRule(n))) throw noRule(n);
    return c.json({ name: n, deliveries: await store.log(n) }, 200);
  },
);

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join('');
}

function noRule(n: string) {
  return apiError(404, 'not_found', `no alert rule named ${n}`, { rule: n });
}
