import { z } from '@hono/zod-openapi';
import { AGENT_NAME_PATTERN, GROUP_NAME_PATTERN, JOB_NAME_PATTERN, nameRule } from '../shared/names.ts';
import { JOB_LIMITS } from '../shared/schema.ts';

// The zod schemas that validate requests and, through @hono/zod-openapi, write /openapi.json.
// Request objects are strict: a misspelt field is refused instead of silently ignored.

export const groupName = z
  .string()
  .regex(GROUP_NAME_PATTERN, `not a valid group name: ${nameRule('group')}`)
  .openapi({ example: 'dc1' });
export const agentName = z
  .string()
  .regex(AGENT_NAME_PATTERN, `not a valid agent name: ${nameRule('agent')}`)
  .openapi({ example: 'edge-1' });
export const jobName = z
  .string()
  .regex(JOB_NAME_PATTERN, `not a valid job name: ${nameRule('job')}`)
  .openapi({ example: 'core' });

export const groupParams = z.object({ group: groupName.openapi({ param: { name: 'group', in: 'path' } }) });
export const agentParams = z.object({ agent: agentName.openapi({ param: { name: 'agent', in: 'path' } }) });
export const jobParams = z.object({
  agent: agentName.openapi({ param: { name: 'agent', in: 'path' } }),
  job: jobName.openapi({ param: { name: 'job', in: 'path' } }),
});

const ipEntry = z.string().max(64).openapi({
  description: 'An IPv4/IPv6 address or a CIDR block up to /22 (IPv6: /118)',
  example: '198.18.0.1',
});
/** Bounded so a 1 MB body cannot hold more entries than a group may. */
const ipEntries = z.array(ipEntry).max(65_536);

export const putGroupBody = z.strictObject({ ips: ipEntries }).openapi('GroupReplace');
export const patchGroupBody = z
  .strictObject({ add: ipEntries.optional(), remove: ipEntries.optional() })
  .openapi('GroupPatch');

export const putJobBody = z
  .strictObject({
    spec: z
      .string()
      .max(256)
      .openapi({ description: 'cron, 5 or 6 fields (seconds first)', example: '*/10 * * * * *' }),
    groups: z.array(groupName).min(1).max(256),
    count: z.number().int().min(JOB_LIMITS.count.min).max(JOB_LIMITS.count.max).optional(),
    timeout_ms: z.number().int().min(JOB_LIMITS.timeout_ms.min).max(JOB_LIMITS.timeout_ms.max).optional(),
    size: z.number().int().min(JOB_LIMITS.size.min).max(JOB_LIMITS.size.max).optional(),
  })
  .openapi('JobPut');

export const errorBody = z
  .object({
    error: z.looseObject({ type: z.string(), message: z.string() }),
  })
  .openapi('Error');

export const groupBody = z
  .object({ name: z.string(), ip_count: z.number(), ips: z.array(z.string()) })
  .openapi('Group');
export const diffBody = z.object({ added: z.array(z.string()), removed: z.array(z.string()) });

export const ipStatusBody = z
  .looseObject({
    ip: z.string(),
    send_count: z.number(),
    return_count: z.number(),
    err: z.string().nullable(),
    updated_at: z.string(),
  })
  .openapi('IpStatus');

export const jobBody = z
  .looseObject({
    name: z.string(),
    SPEC: z.string().optional(),
    group: z.array(z.string()).optional(),
    problem: z.string().optional(),
  })
  .openapi('Job');

export const agentBody = z
  .object({
    name: z.string(),
    online: z.boolean(),
    heartbeat: z.looseObject({}).nullable(),
    job_count: z.number(),
    err_count: z.number(),
  })
  .openapi('Agent');

export const failingBody = z
  .object({
    agent: z.string().nullable(),
    ip: z.string().nullable(),
    reason: z.enum(['offline', 'stale', 'no_data', 'loss', 'rtt']),
    loss: z.number().nullable(),
    rtt_ms: z.number().nullable(),
    age_s: z.number().nullable(),
  })
  .openapi('Failing');

export const checkBody = z
  .object({
    ok: z.boolean(),
    group: z.string(),
    agents: z.array(z.string()),
    checked: z.number(),
    limits: z.object({ max_loss: z.number(), max_rtt_ms: z.number().nullable(), max_age_s: z.number() }),
    failing_count: z.number(),
    failing: z.array(failingBody),
  })
  .openapi('CheckVerdict');

/** Responses every authenticated route may give besides its own. */
export const commonErrors = {
  401: {
    description: 'missing or wrong bearer token',
    content: { 'application/json': { schema: errorBody } },
  },
  403: {
    description: 'the read-only token cannot write',
    content: { 'application/json': { schema: errorBody } },
  },
  400: {
    description: 'malformed path, query or JSON',
    content: { 'application/json': { schema: errorBody } },
  },
} as const;

export function json<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
}
export const errorResponse = (description: string) => json(errorBody, description);
