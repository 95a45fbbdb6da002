import { z } from '@hono/zod-openapi';
import {
  agentNameSchema,
  groupNameSchema,
  heartbeatSchema,
  historyPointSchema,
  ipStatusSchema,
  JOB_LIMITS,
  jobNameSchema,
  jobValueSchema,
} from '../shared/schema.ts';
import { MAX_GROUP_IPS } from './ip-input.ts';

// The zod schemas that validate requests and, through @hono/zod-openapi, write /openapi.json, so
// the description cannot say other than what is checked. Values stored in Redis (names, job
// settings, statuses, heartbeats, history points) have their one schema in shared/schema.ts; this
// file only names them for the API. Request objects are strict: a misspelt field is refused
// instead of silently ignored.

// Schemas from shared/ may have been built before @hono/zod-openapi added `.openapi()` to zod (the
// method is set on each new schema), so they are described with zod's own `.meta()`, which the
// generator reads too and which returns a new schema that has `.openapi()`.
export const groupName = groupNameSchema.meta({ example: 'dc1' });
export const agentName = agentNameSchema.meta({ example: 'edge-1' });
const jobName = jobNameSchema.meta({ example: 'core' });

export const groupParams = z.object({ group: groupName.openapi({ param: { name: 'group', in: 'path' } }) });
export const agentParams = z.object({ agent: agentName.openapi({ param: { name: 'agent', in: 'path' } }) });
export const jobParams = z.object({
  agent: agentName.openapi({ param: { name: 'agent', in: 'path' } }),
  job: jobName.openapi({ param: { name: 'job', in: 'path' } }),
});

// zod's own address checks, described with the standard JSON Schema formats (the generator would
// write a format of its own) and, for blocks, zod's own patterns. Which addresses can be pinged, and
// how large a block may be, is checked after (ip-input.ts): 422 invalid_ip naming the entry.
const ipv4 = z.ipv4().openapi({ format: 'ipv4', example: '198.18.0.1' });
const ipv6 = z.ipv6().openapi({ format: 'ipv6', example: 'fd00::1' });
const cidrv4 = z.string().regex(z.cidrv4()._zod.def.pattern!).openapi({ example: '198.18.1.0/24' });
const cidrv6 = z.string().regex(z.cidrv6()._zod.def.pattern!).openapi({ example: 'fd00::/120' });
const notAn = (what: string) => (issue: { input?: unknown }) => `"${String(issue.input)}" is not ${what}`;

/** One address, as in a path. */
export const ipAddress = z.union([ipv4, ipv6], { error: notAn('an IP address') });

/** Spaces around an entry are dropped, as they are around a line of a text/plain webhook. */
export const ipEntry = z
  .preprocess(
    (value) => (typeof value === 'string' ? value.trim() : value),
    z.union([ipv4, ipv6, cidrv4, cidrv6], { error: notAn('an IP address or CIDR block') }),
  )
  .openapi({
    description: 'An IPv4/IPv6 address or a CIDR block up to /22 (IPv6: /118)',
    example: '198.18.0.1',
  });
/** Bounded so a 1 MB body cannot hold more entries than a group may. */
const ipEntries = z.array(ipEntry).max(MAX_GROUP_IPS);

export const putGroupBody = z.strictObject({ ips: ipEntries }).openapi('GroupReplace');
export const patchGroupBody = z
  .strictObject({ add: ipEntries.optional(), remove: ipEntries.optional() })
  .openapi('GroupPatch');

const { count, timeout_ms, size } = jobValueSchema.shape;
export const putJobBody = z
  .strictObject({
    spec: z
      .string()
      .max(256)
      .openapi({ description: 'cron, 5 or 6 fields (seconds first)', example: '*/10 * * * * *' }),
    groups: z.array(groupName).min(1).max(256),
    count: count.meta({ description: `probes per IP per run, default ${JOB_LIMITS.count.default}` }),
    timeout_ms: timeout_ms.meta({ description: `default ${JOB_LIMITS.timeout_ms.default}` }),
    size: size.meta({ description: `payload bytes, default ${JOB_LIMITS.size.default}` }),
  })
  .openapi('JobPut');

// Query numbers: declared as numbers with their bounds, read from text only in the form a client
// writes a number (no spaces, signs on integers, hex or "Infinity", which Number() would take).
const INTEGER_TEXT = /^[0-9]+$/;
const NUMBER_TEXT = /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/;
const fromText = (pattern: RegExp) => (value: unknown) =>
  typeof value === 'string' && pattern.test(value) ? Number(value) : value;

/** A query parameter holding a whole number from min to max. */
export function queryInteger(min: number, max: number) {
  const error = `must be a whole number from ${min} to ${max}`;
  return z.preprocess(fromText(INTEGER_TEXT), z.number({ error }).int().min(min).max(max));
}

/** A query parameter holding a number from min to max. */
export function queryNumber(min: number, max: number) {
  const error = `must be a number from ${min} to ${max}`;
  return z.preprocess(fromText(NUMBER_TEXT), z.number({ error }).min(min).max(max));
}

const errorBody = z
  .object({
    error: z.looseObject({ type: z.string(), message: z.string() }),
  })
  .openapi('Error');

export const groupBody = z
  .object({ name: z.string(), ip_count: z.number(), ips: z.array(z.string()) })
  .openapi('Group');
export const diffBody = z.object({ added: z.array(z.string()), removed: z.array(z.string()) });

export const ipStatusBody = ipStatusSchema.meta({ id: 'IpStatus' });
export const historyPointBody = historyPointSchema.meta({ id: 'HistoryPoint' });

/** A job as stored; a hand-written one that does not parse shows only its name and the problem. */
export const storedJobBody = jobValueSchema.meta({ id: 'StoredJob' });
export const jobBody = z
  .union([storedJobBody, z.object({ name: z.string(), problem: z.string() })])
  .openapi('Job');

export const agentBody = z
  .object({
    name: z.string(),
    online: z.boolean(),
    heartbeat: heartbeatSchema.meta({ id: 'Heartbeat' }).nullable(),
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

export function json<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
}
export const errorResponse = (description: string) => json(errorBody, description);
