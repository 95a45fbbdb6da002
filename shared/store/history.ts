import { type HistoryPoint, historyPointSchema } from '../schema.ts';
import type { StoreContext } from './context.ts';

// History for graphs: `ip-minutes_{agent}_{ip}` and `ip-hours_{agent}_{ip}` are sorted sets whose
// members are whole JSON buckets scored by the bucket's start (Unix seconds). A bucket is written
// once, when it is complete, so replaying a write adds nothing (ZADD of an identical member is a
// no-op). An agent that stops mid-bucket writes the part it saw, tagged with a `part` field naming
// the process so it never coincides with the next process's part; readers merge members that share
// a start.

export type HistoryResolution = 'minute' | 'hour';

export const HISTORY = {
  minute: { bucketSeconds: 60, keepSeconds: 24 * 3600 },
  hour: { bucketSeconds: 3600, keepSeconds: 30 * 24 * 3600 },
} as const;

export function historyStore({ redis, keys }: StoreContext) {
  const keyOf = (agent: string, ip: string, resolution: HistoryResolution) =>
    resolution === 'minute' ? keys.ipMinutes(agent, ip) : keys.ipHours(agent, ip);

  return {
    keyOf,

    /** Buckets starting in [fromSec, toSec], oldest first, one point per start. */
    async range(
      agent: string,
      ip: string,
      resolution: HistoryResolution,
      fromSec: number,
      toSec: number,
    ): Promise<HistoryPoint[]> {
      const raw = await redis.zrange<string[]>(keyOf(agent, ip, resolution), fromSec, toSec, {
        byScore: true,
      });
      return mergeHistoryPoints(raw.flatMap((member) => readPoint(member)));
    },
  };
}

function readPoint(member: unknown): HistoryPoint[] {
  try {
    const parsed = historyPointSchema.safeParse(typeof member === 'string' ? JSON.parse(member) : member);
    if (!parsed.success) return [];
    // Only the bucket's own fields: a partial member's `part` tag is for Redis, not for readers.
    const { t, sent, received, min, p10, p25, median, p75, p90, max } = parsed.data;
    return [{ t, sent, received, min, p10, p25, median, p75, p90, max }];
  } catch {
    // A member some other tool wrote: not ours to draw.
    return [];
  }
}

/**
 * Merges points that share a start: counts add up, min and max are exact, quantiles are averaged
 * weighted by the replies behind them (exact when only one point has replies, close otherwise).
 */
export function mergeHistoryPoints(points: readonly HistoryPoint[]): HistoryPoint[] {
  const byStart = new Map<number, HistoryPoint[]>();
  for (const point of points) {
    const list = byStart.get(point.t);
    if (list) list.push(point);
    else byStart.set(point.t, [point]);
  }
  return [...byStart.entries()].sort((a, b) => a[0] - b[0]).map(([, list]) => mergeOne(list));
}

const QUANTILES = ['p10', 'p25', 'median', 'p75', 'p90'] as const;

function mergeOne(list: HistoryPoint[]): HistoryPoint {
  if (list.length === 1) return list[0]!;
  const answered = list.filter((p) => p.received > 0 && p.median !== null);
  const weight = answered.reduce((sum, p) => sum + p.received, 0);
  const merged: HistoryPoint = {
    t: list[0]!.t,
    sent: list.reduce((sum, p) => sum + p.sent, 0),
    received: list.reduce((sum, p) => sum + p.received, 0),
    min: extreme(
      answered.map((p) => p.min),
      Math.min,
    ),
    p10: null,
    p25: null,
    median: null,
    p75: null,
    p90: null,
    max: extreme(
      answered.map((p) => p.max),
      Math.max,
    ),
  };
  if (weight > 0) {
    for (const q of QUANTILES) {
      merged[q] = answered.reduce((sum, p) => sum + (p[q] ?? 0) * p.received, 0) / weight;
    }
  }
  return merged;
}

function extreme(values: (number | null)[], pick: (...n: number[]) => number): number | null {
  const known = values.filter((v): v is number => v !== null);
  return known.length === 0 ? null : pick(...known);
}
