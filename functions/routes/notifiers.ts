import { createRoute, z } from '@hono/zod-openapi';
import { type Notifier, notifierNameSchema } from '../../shared/alert-schema.ts';
import { alertStore } from '../../shared/store/alerts.ts';
import { MAX_URL_LENGTH, notifierUrlProblem, urlTarget } from '../alerts/notifier-url.ts';
import { alertBindings, storeOf } from '../env.ts';
import { apiError } from '../errors.ts';
import { newRouter } from '../router.ts';
import { errorResponse, json } from '../schemas.ts';
import { isWebhookSecret, newWebhookSecret } from '../webhooks/sign-outbound.ts';

// /v1/notifiers: where alert notifications go. A webhook is signed with Standard Webhooks under its
// secret (made here when none is given, and shown once); a Slack notifier posts to an incoming
// webhook. Answers show a URL as scheme and host only: the rest often holds a token.

export const notifiers = newRouter();

const tags = ['alerts'];
const security = [{ bearer: [] }];

const name = notifierNameSchema.meta({ example: 'slack-ops' });
const params = z.object({ name: name.openapi({ param: { name: 'name', in: 'path' } }) });
const url = z
  .string()
  .max(MAX_URL_LENGTH)
  .openapi({ example: 'https://hooks.slack.com/services/T000/B000/XXXX' });

const putBody = z
  .discriminatedUnion('type', [
    z.strictObject({
      type: z.literal('webhook'),
      url,
      secret: z.string().max(200).optional().openapi({
        description: 'whsec_<base64 key>; made for you when absent (kept when the notifier exists)',
      }),
    }),
    z.strictObject({ type: z.literal('slack'), url }),
  ])
  .openapi('NotifierPut');

const notifierBody = z
  .object({
    name: z.string(),
    type: z.enum(['webhook', 'slack']),
    target: z.string().openapi({ description: 'scheme and host of the URL' }),
    used_by: z.array(z.string()).openapi({ description: 'alert rules that notify it' }),
  })
  .openapi('Notifier');

function shown(notifierName: string, n: Notifier, usedBy: string[]) {
  return { name: notifierName, type: n.type, target: urlTarget(n.url), used_by: usedBy };
}

async function usersOf(c: Parameters<typeof storeOf>[0]): Promise<Map<string, string[]>> {
  const { rules } = await alertStore(storeOf(c)).rules();
  const users = new Map<string, string[]>();
  for (const rule of rules) for (const n of rule.notify) users.set(n, [...(users.get(n) ?? []), rule.name]);
  return users;
}

notifiers.openapi(
  createRoute({
    method: 'get',
    path: '/',
    tags,
    security,
    summary: 'List notifiers',
    responses: { 200: json(z.object({ notifiers: z.array(notifierBody) }), 'every notifier') },
  }),
  async (c) => {
    const alerts = alertStore(storeOf(c));
    const found = await alerts.notifiers(await alerts.notifierNames());
    const users = await usersOf(c);
    return c.json({ notifiers: [...found].map(([n, v]) => shown(n, v, users.get(n) ?? [])) }, 200);
  },
);

notifiers.openapi(
  createRoute({
    method: 'get',
    path: '/{name}',
    tags,
    security,
    summary: 'One notifier',
    request: { params },
    responses: { 200: json(notifierBody, 'the notifier'), 404: errorResponse('no such notifier') },
  }),
  async (c) => {
    const { name: n } = c.req.valid('param');
    const found = (await alertStore(storeOf(c)).notifiers([n])).get(n);
    if (!found) throw noNotifier(n);
    return c.json(shown(n, found, (await usersOf(c)).get(n) ?? []), 200);
  },
);

notifiers.openapi(
  createRoute({
    method: 'put',
    path: '/{name}',
    tags,
    security,
    summary: 'Create or replace a notifier',
    description:
      'The URL must be https and name a public host; http and private or loopback addresses are taken only when the Worker runs with ALERT_ALLOW_LOCAL=true (local development).',
    request: { params, body: { required: true, content: { 'application/json': { schema: putBody } } } },
    responses: {
      200: json(
        notifierBody.extend({
          created: z.boolean(),
          secret: z
            .string()
            .optional()
            .openapi({ description: 'the signing secret, shown only when it was made by this request' }),
        }),
        'saved',
      ),
      422: errorResponse(
        'bad fields, a URL that is not https or names a private address, a malformed secret',
      ),
    },
  }),
  async (c) => {
    const { name: n } = c.req.valid('param');
    const body = c.req.valid('json');
    const problem = notifierUrlProblem(body.url, alertBindings(c.env).allowLocal);
    if (problem) throw apiError(422, 'validation', `url ${problem}`, { field: 'url' });
    const alerts = alertStore(storeOf(c));
    const before = (await alerts.notifiers([n])).get(n);
    let made: string | undefined;
    let notifier: Notifier;
    if (body.type === 'webhook') {
      if (body.secret !== undefined && !isWebhookSecret(body.secret)) {
        throw apiError(
          422,
          'validation',
          'secret must be "whsec_" followed by a base64 key of 16 bytes or more',
          {
            field: 'secret',
          },
        );
      }
      const kept = before?.type === 'webhook' ? before.secret : undefined;
      if (body.secret === undefined && kept === undefined) made = newWebhookSecret();
      notifier = { type: 'webhook', url: body.url, secret: body.secret ?? kept ?? made! };
    } else {
      notifier = { type: 'slack', url: body.url };
    }
    await alerts.putNotifier(n, notifier);
    const shownBody = shown(n, notifier, (await usersOf(c)).get(n) ?? []);
    return c.json({ ...shownBody, created: before === undefined, ...(made ? { secret: made } : {}) }, 200);
  },
);

notifiers.openapi(
  createRoute({
    method: 'delete',
    path: '/{name}',
    tags,
    security,
    summary: 'Delete a notifier (409 while a rule notifies it)',
    request: { params },
    responses: {
      200: json(z.object({ deleted: z.string() }), 'deleted'),
      404: errorResponse('no such notifier'),
      409: errorResponse('alert rules still notify it'),
    },
  }),
  async (c) => {
    const { name: n } = c.req.valid('param');
    const users = (await usersOf(c)).get(n) ?? [];
    if (users.length > 0) {
      throw apiError(
        409,
        'conflict',
        `notifier ${n} is used by the alert rule(s) ${users.join(', ')}; change them first`,
        {
          rules: users,
        },
      );
    }
    if (!(await alertStore(storeOf(c)).deleteNotifier(n))) throw noNotifier(n);
    return c.json({ deleted: n }, 200);
  },
);

function noNotifier(n: string) {
  return apiError(404, 'not_found', `no notifier named ${n}`, { notifier: n });
}
