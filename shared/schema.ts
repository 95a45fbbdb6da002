import { z } from 'zod';
import { cronSpecProblem } from './cron-spec.ts';
import { canonicalIp } from './ip.ts';
import { GROUP_NAME_PATTERN, JOB_NAME_PATTERN } from './names.ts';

// Schemas of every value stored in Redis. Values are read loosely (fields we do not know survive
// and are ignored), because the seed's users write keys by hand; the API validates its own input
// strictly elsewhere.

export const groupNameSchema = z.string().regex(GROUP_NAME_PATTERN, 'not a valid group name');
export const jobNameSchema = z.string().regex(JOB_NAME_PATTERN, 'not a valid job name');

export const cronSpecSchema = z.string().superRefine((spec, ctx) => {
  const problem = cronSpecProblem(spec);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const JOB_LIMITS = {
  count: { min: 1, max: 100, default: 1 },
  timeout_ms: { min: 10, max: 60_000, default: 1_000 },
  size: { min: 0, max: 1_400, default: 56 },
} as const;

/** `agent_{agent}_{job}`: the seed's `{SPEC, name, group}` plus optional probe settings. */
export const jobValueSchema = z.looseObject({
  SPEC: cronSpecSchema,
  name: jobNameSchema,
  group: z.array(groupNameSchema),
  count: z.number().int().min(JOB_LIMITS.count.min).max(JOB_LIMITS.count.max).optional(),
  timeout_ms: z.number().int().min(JOB_LIMITS.timeout_ms.min).max(JOB_LIMITS.timeout_ms.max).optional(),
  size: z.number().int().min(JOB_LIMITS.size.min).max(JOB_LIMITS.size.max).optional(),
});
export type JobValue = z.infer<typeof jobValueSchema>;

const ms = z.number().nonnegative();

/** `ip_{agent}_{ip}`: the agent's latest view of one IP. Counts are cumulative since the key was
 * created; `err` is what went wrong last, null when the last probe was answered. */
export const ipStatusSchema = z.looseObject({
  ip: z.string(),
  send_count: z.number().int().nonnegative(),
  return_count: z.number().int().nonnegative(),
  err: z.string().nullable(),
  rtt_last_ms: ms.nullable().optional(),
  rtt_min_ms: ms.nullable().optional(),
  rtt_avg_ms: ms.nullable().optional(),
  rtt_max_ms: ms.nullable().optional(),
  rtt_mdev_ms: ms.nullable().optional(),
  /** IP TTL of the last reply. */
  ttl: z.number().int().min(0).max(255).nullable().optional(),
  /** Loss over the clean window, 0..1. */
  loss_window: z.number().min(0).max(1).optional(),
  window_s: z.number().int().positive().optional(),
  /** ISO 8601 time of the last probe. */
  updated_at: z.string(),
});
export type IpStatus = z.infer<typeof ipStatusSchema>;

/** `agent-online_{agent}`: the heartbeat. Its expiry is what makes the agent offline. */
export const heartbeatSchema = z.looseObject({
  version: z.string(),
  hostname: z.string(),
  pid: z.number().int(),
  started_at: z.string(),
  jobs: z.array(z.string()),
  updated_at: z.string().optional(),
});
export type Heartbeat = z.infer<typeof heartbeatSchema>;

/** One bucket of `ip-minutes_` / `ip-hours_`: enough quantiles to draw SmokePing-style bands.
 * RTT fields are null when nothing came back in the bucket. */
export const historyPointSchema = z.looseObject({
  /** Bucket start, Unix seconds. */
  t: z.number().int(),
  sent: z.number().int().nonnegative(),
  received: z.number().int().nonnegative(),
  min: ms.nullable(),
  p10: ms.nullable(),
  p25: ms.nullable(),
  median: ms.nullable(),
  p75: ms.nullable(),
  p90: ms.nullable(),
  max: ms.nullable(),
});
export type HistoryPoint = z.infer<typeof historyPointSchema>;

/** A group member as stored: the canonical spelling of an IP. */
export const storedIpSchema = z.string().refine((ip) => canonicalIp(ip) === ip, 'not a canonical IP address');

/** Parses a stored JSON value; null when absent, a labelled error when malformed. */
export function parseStored<T>(schema: z.ZodType<T>, raw: unknown, what: string): T | null {
  if (raw === null || raw === undefined) return null;
  let value: unknown;
  try {
    value = typeof raw === 'string' ? JSON.parse(raw) : raw;
  } catch {
    throw new StoredValueError(what, 'is not JSON');
  }
  const result = schema.safeParse(value);
  if (!result.success) throw new StoredValueError(what, result.error.issues.map((i) => i.message).join('; '));
  return result.data;
}

export class StoredValueError extends Error {
  constructor(
    readonly key: string,
    detail: string,
  ) {
    super(`stored value at ${key} ${detail.startsWith('is') ? detail : `is invalid: ${detail}`}`);
    this.name = 'StoredValueError';
  }
}
