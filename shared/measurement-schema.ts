import { z } from './zod.ts';

// On-demand measurements (issue 13): a client asks chosen agents to ping chosen targets now. The
// API stores the request under `measurement_{id}` and announces it on the config channel; each
// chosen agent writes its progress under `measurement-state_{agent}_{id}` and its figures under
// `measurement-result_{agent}_{id}`; `measurement-pending` lists the ids still before their
// deadline, for agents that were not listening. Everything expires after MEASUREMENT_TTL_S. The
// state a client sees is derived from these and the agents' heartbeats (`measurementAgentState`),
// so an agent that dies or restarts mid-way never leaves a measurement waiting for ever.

export const MEASUREMENT_LIMITS = {
  targets: 1_024,
  count: { min: 1, max: 100, default: 3 },
  interval_ms: { min: 0, max: 10_000, default: 1_000 },
  timeout_ms: { min: 1, max: 10_000, default: 1_000 },
  /**
   * Longest a measurement may probe, (count - 1) x interval + timeout, ms: an agent that stops
   * lets its measurements finish first, so this bounds how long a stop can take.
   */
  duration_ms: 60_000,
  /** Longest `?wait_s` a GET may hold the request open. */
  wait_s: 25,
} as const;

/** How long a measurement and its results stay readable. */
export const MEASUREMENT_TTL_S = 3_600;

/** Measurement ids: lowercase letters and digits only, so keys parse back (no `_`). */
export const MEASUREMENT_ID_PATTERN = /^[0-9a-z]{20}$/;

export function newMeasurementId(): string {
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyz';
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  // 256 % 36 leaves a slight bias toward the first letters; ids need to be unguessable, not uniform.
  return Array.from(bytes, (b) => alphabet[b % 36]).join('');
}

/** `measurement_{id}`: the request as the API accepted it. Times are Unix milliseconds. */
export const measurementRequestSchema = z.looseObject({
  id: z.string(),
  created_at: z.number(),
  /** After this, an agent that has not finished is `failed` (see measurementDeadline). */
  deadline_at: z.number(),
  targets: z.array(z.string()),
  /** Agents chosen and online when asked, with the `started_at` of their heartbeat then. */
  agents: z.array(z.object({ name: z.string(), started_at: z.string() })),
  /** Agents named in the request but offline when asked: reported, never waited for. */
  offline: z.array(z.string()),
  count: z.number().int(),
  interval_ms: z.number().int(),
  timeout_ms: z.number().int(),
});
export type MeasurementRequest = z.infer<typeof measurementRequestSchema>;

const icmpErrorSchema = z.object({ count: z.number(), code: z.number(), from: z.string() }).nullable();

/** One target's figures, as `ping-agent probe --json` prints them. */
export const targetFiguresSchema = z.object({
  ip: z.string(),
  sent: z.number(),
  received: z.number(),
  loss: z.number(),
  rtt_ms: z
    .object({
      min: z.number(),
      avg: z.number(),
      max: z.number(),
      p50: z.number(),
      p95: z.number(),
      mdev: z.number(),
    })
    .nullable(),
  ttl: z.number().nullable(),
  late: z.number(),
  duplicates: z.number(),
  errors: z.object({ unreachable: icmpErrorSchema, ttl_exceeded: icmpErrorSchema }),
});
export type TargetFigures = z.infer<typeof targetFiguresSchema>;

export const STORED_STATES = ['running', 'finished', 'failed'] as const;

/** `measurement-state_{agent}_{id}`: written by the agent when it starts and when it ends. */
export const measurementStateSchema = z.looseObject({
  state: z.enum(STORED_STATES),
  started_at: z.number(),
  finished_at: z.number().optional(),
  error: z.string().optional(),
});
export type MeasurementState = z.infer<typeof measurementStateSchema>;

/** `measurement-result_{agent}_{id}`: the figures of every target, written with the `finished` state. */
export const measurementResultSchema = z.looseObject({ targets: z.array(targetFiguresSchema) });

export const AGENT_STATES = ['queued', 'running', 'finished', 'offline', 'failed'] as const;
export type AgentMeasurementState = (typeof AGENT_STATES)[number];

/** Time allowed for the push to reach an agent and for its results to be written. */
const DELIVERY_MS = 3_000;
/** Packets per second assumed available to a measurement (the agent's budget is shared with jobs). */
const ASSUMED_PPS = 1_000;

/** When a measurement that has not finished counts as failed. */
export function measurementDeadline(
  createdAt: number,
  settings: { targets: number; count: number; interval_ms: number; timeout_ms: number },
): number {
  const probing = (settings.count - 1) * settings.interval_ms + settings.timeout_ms;
  const pacing = Math.ceil((settings.targets * settings.count * 1000) / ASSUMED_PPS);
  return createdAt + DELIVERY_MS + probing + pacing;
}

export interface DerivedState {
  state: AgentMeasurementState;
  error?: string;
}

/**
 * What a client is told about one chosen agent: its stored state when it ended, otherwise what
 * its heartbeat says. An agent whose heartbeat is gone, or whose heartbeat shows another process
 * than the one chosen (it restarted), will not finish: failed at once rather than at the deadline.
 */
export function measurementAgentState(
  chosen: { started_at: string },
  stored: MeasurementState | null,
  heartbeatStartedAt: string | null,
  deadlineAt: number,
  now: number,
): DerivedState {
  if (stored?.state === 'finished') return { state: 'finished' };
  if (stored?.state === 'failed') return { state: 'failed', error: stored.error ?? 'the agent failed' };
  if (heartbeatStartedAt === null) return { state: 'failed', error: 'the agent went offline' };
  if (heartbeatStartedAt !== chosen.started_at) {
    return { state: 'failed', error: 'the agent restarted before it finished' };
  }
  if (now > deadlineAt) return { state: 'failed', error: 'no answer from the agent before the deadline' };
  return { state: stored ? 'running' : 'queued' };
}

/** The message on the config channel that tells chosen agents to start; one line of JSON. */
export interface MeasurementMessage {
  type: 'measurement';
  id: string;
  agents: string[];
}

export function measurementMessage(id: string, agents: readonly string[]): string {
  return JSON.stringify({ type: 'measurement', id, agents: [...agents] } satisfies MeasurementMessage);
}

/** The measurement a channel message announces, or null for any other message ("changed"). */
export function parseMeasurementMessage(message: unknown): MeasurementMessage | null {
  let value = message;
  if (typeof message === 'string') {
    if (!message.startsWith('{')) return null;
    try {
      value = JSON.parse(message);
    } catch {
      return null;
    }
  }
  const m = value as Partial<MeasurementMessage> | null;
  if (m?.type !== 'measurement' || typeof m.id !== 'string' || !MEASUREMENT_ID_PATTERN.test(m.id))
    return null;
  if (!Array.isArray(m.agents) || !m.agents.every((a) => typeof a === 'string')) return null;
  return { type: 'measurement', id: m.id, agents: m.agents };
}
