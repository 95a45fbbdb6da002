import { AGENT_NAME_PATTERN, nameRule } from './names.ts';
import { agentNameSchema, groupNameSchema } from './schema.ts';
import { z } from './zod.ts';

// Alert rules, notifiers and what evaluating and delivering them leaves in Redis. Rule, notifier and
// delivery ids never contain `_` (see keys.ts), so names follow the agent name rule.

export const alertNameSchema = z
  .string()
  .regex(AGENT_NAME_PATTERN, `not a valid alert name: ${nameRule('agent')}`);
export const notifierNameSchema = z
  .string()
  .regex(AGENT_NAME_PATTERN, `not a valid notifier name: ${nameRule('agent')}`);

export const ALERT_LIMITS = {
  for_s: { min: 0, max: 86_400, default: 120 },
  max_age_s: { min: 1, max: 86_400 * 30, default: 180 },
  notify: 10,
  agents: 256,
} as const;

const forS = z
  .number()
  .int()
  .min(ALERT_LIMITS.for_s.min)
  .max(ALERT_LIMITS.for_s.max)
  .meta({
    description: `seconds the condition must hold before firing, default ${ALERT_LIMITS.for_s.default}`,
  });
const notify = z
  .array(notifierNameSchema)
  .min(1)
  .max(ALERT_LIMITS.notify)
  .refine((names) => new Set(names).size === names.length, 'names a notifier twice')
  .meta({ description: 'notifier names (see /v1/notifiers)' });
const agents = z.array(agentNameSchema).min(1).max(ALERT_LIMITS.agents);

/** A group rule fails when /v1/check with the same limits would answer 412. */
export const groupRuleFields = {
  type: z.literal('group').optional().meta({ description: 'default "group"' }),
  group: groupNameSchema,
  agents: agents
    .optional()
    .meta({ description: 'only these agents count; default every agent probing the group' }),
  max_loss: z.number().min(0).max(1).meta({ description: '0..1, as /v1/check' }),
  max_rtt_ms: z.number().min(0).max(600_000).optional(),
  max_age_s: z
    .number()
    .int()
    .min(ALERT_LIMITS.max_age_s.min)
    .max(ALERT_LIMITS.max_age_s.max)
    .optional()
    .meta({ description: `default ${ALERT_LIMITS.max_age_s.default}` }),
  for_s: forS.optional(),
  notify,
};

/** An offline rule fails while any of its agents (default: every registered agent) has no heartbeat. */
export const offlineRuleFields = {
  type: z.literal('agent_offline'),
  agents: agents.optional().meta({ description: 'default every registered agent' }),
  for_s: forS.optional(),
  notify,
};

const stored = { name: alertNameSchema, id: z.string().regex(/^[0-9a-f]{8,32}$/) };

export const storedRuleSchema = z.discriminatedUnion('type', [
  z.looseObject({
    ...stored,
    ...groupRuleFields,
    type: z.literal('group'),
    for_s: forS,
  }),
  z.looseObject({ ...stored, ...offlineRuleFields, for_s: forS }),
]);
export type AlertRule = z.infer<typeof storedRuleSchema>;
export type GroupRule = Extract<AlertRule, { type: 'group' }>;

export const storedNotifierSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('webhook'), url: z.string(), secret: z.string() }),
  z.looseObject({ type: z.literal('slack'), url: z.string() }),
]);
export type Notifier = z.infer<typeof storedNotifierSchema>;

export const ALERT_PHASES = ['ok', 'pending', 'firing', 'resolved'] as const;
export type AlertPhase = (typeof ALERT_PHASES)[number];

/** One failing (agent, IP) or agent, as a notification shows it. */
export const alertFailingSchema = z.looseObject({
  agent: z.string().nullable(),
  ip: z.string().nullable(),
  reason: z.string(),
  loss: z.number().nullable(),
  rtt_ms: z.number().nullable(),
  likely_cause: z.string(),
});
export type AlertFailing = z.infer<typeof alertFailingSchema>;

/** What an evaluation saw: whether the rule's condition holds and, when it does, the worst of it. */
export const observationSchema = z.looseObject({
  failing: z.boolean(),
  failing_count: z.number().int().nonnegative(),
  worst: z.array(alertFailingSchema),
  diagnosis: z.array(z.string()),
});
export type Observation = z.infer<typeof observationSchema>;

/** `alert-transition_{rule}_{id}.{version}`: one state of a rule, written once by the evaluation
 * that claimed it. `notify` is set on the transitions that are announced. */
export const alertStateSchema = z.looseObject({
  rule_id: z.string(),
  version: z.number().int().nonnegative(),
  phase: z.enum(ALERT_PHASES),
  /** ms: when this phase began. */
  since_ms: z.number(),
  /** ms: when the condition began to hold (pending and firing). */
  failing_since_ms: z.number().nullable(),
  event: z.enum(['firing', 'resolved']).nullable(),
  observation: observationSchema.nullable(),
});
export type AlertState = z.infer<typeof alertStateSchema>;

/** `alert-delivery_{id}`: one announcement to one notifier, until it is sent or given up. */
export const deliverySchema = z.looseObject({
  id: z.string(),
  rule: z.string(),
  notifier: z.string(),
  attempts: z.number().int().nonnegative(),
  created_ms: z.number(),
  /** The event as sent: the webhook's JSON body (Slack's text is made from it). */
  event: z.looseObject({ type: z.string(), timestamp: z.string(), data: z.looseObject({}) }),
});
export type Delivery = z.infer<typeof deliverySchema>;

/** One line of `alert-log_{rule}`. */
export const deliveryLogSchema = z.looseObject({
  at: z.string(),
  delivery_id: z.string(),
  event: z.string(),
  notifier: z.string(),
  /** The notifier's URL without path or query, which may hold a token (Slack's does). */
  target: z.string(),
  attempt: z.number().int().positive(),
  /** HTTP status, or null when no answer came. */
  status: z.number().int().nullable(),
  outcome: z.enum(['delivered', 'retrying', 'gave_up']),
  error: z.string().nullable(),
});
export type DeliveryLog = z.infer<typeof deliveryLogSchema>;
