import { cronSpecProblem } from './cron-spec.ts';
import { AGENT_NAME_PATTERN, GROUP_NAME_PATTERN, JOB_NAME_PATTERN, nameRule } from './names.ts';
import { z } from './zod.ts';

// Schemas of every value stored in Redis. Values are read loosely (fields we do not know survive
// and are ignored), because the seed's users write keys by hand; the API validates its own input
// strictly elsewhere.

export const groupNameSchema = z
  .string()
  .regex(GROUP_NAME_PATTERN, `not a valid group name: ${nameRule('group')}`);
export const jobNameSchema = z.string().regex(JOB_NAME_PATTERN, `not a valid job name: ${nameRule('job')}`);
export const agentNameSchema = z
  .string()
  .regex(AGENT_NAME_PATTERN, `not a valid agent name: ${nameRule('agent')}`);

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

/** One member in a `group-summary_`: the figures of its status as written, what the check reads. */
export const summaryEntrySchema = z.object({
  ip: z.string(),
  /** The loss the check compares: `loss_window`, else 1 - return_count / send_count; null if neither. */
  loss: z.number().min(0).max(1).nullable(),
  rtt: ms.nullable(),
  sent: z.number().int().nonnegative(),
  returned: z.number().int().nonnegative(),
  err: z.string().nullable(),
});
export type SummaryEntry = z.infer<typeof summaryEntrySchema>;

/** `group-summary_{agent}_{group}`: enough of one agent's statuses of one group to answer a check.
 * Every member not in `listed` or `missing` has a status with a known loss <= `unlisted_max_loss`
 * and a known RTT <= `unlisted_max_rtt_ms`. */
export const groupSummarySchema = z.looseObject({
  v: z.literal(1),
  /** When the agent last probed every member (ISO 8601): the age of each member's figures. */
  computed_at: z.string(),
  /** Membership digest of the members the agent probed (see shared/summary/membership-digest.ts). */
  digest: z.string(),
  members: z.number().int().nonnegative(),
  /** Members the agent has no status of. */
  missing: z.array(z.string()),
  /** Members that lost packets, have no RTT or loss yet, or have the highest RTTs. */
  listed: z.array(summaryEntrySchema),
  unlisted_max_loss: z.number().min(0).max(1),
  unlisted_max_rtt_ms: ms.nullable(),
  /** True when more members needed listing than a summary holds: it cannot answer a check. */
  truncated: z.boolean(),
});
export type GroupSummary = z.infer<typeof groupSummarySchema>;

/** `agent-summary_{agent}`: the agent's roll-up over every IP it probes, across its groups. */
export const agentRollupSchema = z.looseObject({
  computed_at: z.string(),
  targets: z.number().int().nonnegative(),
  /** Targets whose latest status shows lost packets. */
  lossy: z.number().int().nonnegative(),
});
export type AgentRollup = z.infer<typeof agentRollupSchema>;

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

/**
 * Like parseStored, but a malformed value reads as absent: for values the reader can do without
 * (a summary, a heartbeat's details, one status among many). Anything but a malformed value still throws.
 */
export function parseStoredOrNull<T>(schema: z.ZodType<T>, raw: unknown, what: string): T | null {
  try {
    return parseStored(schema, raw, what);
  } catch (error) {
    if (error instanceof StoredValueError) return null;
    throw error;
  }
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
