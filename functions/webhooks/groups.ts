import { createRoute, z } from '@hono/zod-openapi';
import { diffMembers } from '../../shared/store.ts';
import { decodeUtf8, mediaType } from '../body.ts';
import { storeOf, webhookSecretBinding } from '../env.ts';
import { apiError } from '../errors.ts';
import { linesOf, normaliseTargets } from '../ip-input.ts';
import { newRouter, validationHook } from '../router.ts';
import { errorResponse, groupParams, json, putGroupBody } from '../schemas.ts';
import {
  TOLERANCE_SECONDS,
  verifySignature,
  WEBHOOK_ID_PATTERN,
  WEBHOOK_ID_RULE,
  WEBHOOK_TIMESTAMP_PATTERN,
} from './signature.ts';

// POST /v1/webhooks/groups/{group}: an inventory system replaces a group's IPs. The signature is
// the credential (no bearer token). A delivery id is remembered for longer than the timestamp
// tolerance, so a captured request cannot be replayed while its timestamp is still accepted.

export const webhooks = newRouter();

const SEEN_SECONDS = 2 * TOLERANCE_SECONDS + 60;

webhooks.openapi(
  createRoute({
    method: 'post',
    path: '/groups/{group}',
    tags: ['webhooks'],
    summary: "Replace a group's IPs from an inventory system (Standard Webhooks signature)",
    request: {
      params: groupParams,
      query: z.strictObject({ dry_run: z.enum(['true', 'false']).optional() }),
      headers: z.object({
        // Formats checked here so the description says them; absent headers are a 401 (below).
        'webhook-id': z
          .string()
          .regex(WEBHOOK_ID_PATTERN, WEBHOOK_ID_RULE)
          .optional()
          .openapi({ example: 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W' }),
        'webhook-timestamp': z
          .string()
          .regex(WEBHOOK_TIMESTAMP_PATTERN, 'must be Unix seconds')
          .optional()
          .openapi({ example: '1767225600' }),
        'webhook-signature': z.string().optional(),
      }),
      body: {
        required: true,
        description: 'JSON {"ips": [...]}, or text/plain with one address or CIDR block per line',
        // Plain OpenAPI schemas, not zod: the body must not be parsed before the signature is
        // checked over its raw bytes, and zod bodies would be validated by the router first.
        content: {
          'application/json': { schema: { $ref: '#/components/schemas/GroupReplace' } },
          'text/plain': { schema: { type: 'string', example: '198.18.0.1\n198.18.1.0/24\n' } },
        },
      },
    },
    responses: {
      200: json(
        z.object({
          group: z.string(),
          dry_run: z.boolean(),
          created: z.boolean(),
          ip_count: z.number(),
          added: z.array(z.string()),
          removed: z.array(z.string()),
        }),
        'the diff (applied unless dry_run)',
      ),
      401: errorResponse('missing headers, bad signature or timestamp out of range'),
      409: errorResponse('this webhook-id was already delivered'),
      413: errorResponse('body over 1 MB'),
      415: errorResponse('neither JSON nor text/plain'),
      422: errorResponse('bad IPs or unknown fields'),
    },
  }),
  async (c) => {
    const { group } = c.req.valid('param');
    const dryRun = c.req.valid('query').dry_run === 'true';
    // The signature covers the bytes as sent; the text (a leading BOM dropped) is what is parsed.
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    const raw = decodeUtf8(bytes);
    const signed = await verifySignature(
      webhookSecretBinding(c.env),
      {
        id: c.req.header('webhook-id'),
        timestamp: c.req.header('webhook-timestamp'),
        signature: c.req.header('webhook-signature'),
      },
      bytes,
      Math.floor(Date.now() / 1000),
    );
    const ips = normaliseTargets(entriesOf(c.req.header('content-type'), raw), 'ips');
    const store = storeOf(c);
    const before = await store.groups.get(group);
    const diff = diffMembers(before ?? [], ips);
    // A dry run claims its id too: the signature covers neither the path nor `?dry_run`, so an
    // unclaimed dry run could be sent again without it (or to another group) and be applied.
    if (!(await store.webhooks.claim(signed.id, SEEN_SECONDS))) {
      throw apiError(409, 'replayed', `webhook-id ${signed.id} was already delivered`, { id: signed.id });
    }
    if (!dryRun) {
      try {
        await store.groups.replace(group, ips);
      } catch (error) {
        await store.webhooks.release(signed.id).catch(() => {});
        throw error;
      }
    }
    return c.json({ group, dry_run: dryRun, created: before === null, ip_count: ips.length, ...diff }, 200);
  },
);

function entriesOf(contentType: string | undefined, raw: string): string[] {
  const type = mediaType(contentType);
  if (type === 'text/plain') return linesOf(raw);
  if (type !== 'application/json') {
    throw apiError(
      415,
      'unsupported_media_type',
      'send {"ips": [...]} as application/json or one IP per line as text/plain',
      {
        content_type: type || null,
      },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw apiError(400, 'invalid_request', 'the request body is not valid JSON');
  }
  const parsed = putGroupBody.safeParse(value);
  if (!parsed.success) validationHook({ success: false, target: 'json', error: parsed.error });
  return parsed.data!.ips;
}
