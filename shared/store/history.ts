import {
  type BlockShape,
  blockStartOf,
  blockStartsIn,
  decodeBlock,
  HOUR_BLOCKS,
  MINUTE_BLOCKS,
  slotOf,
} from '../history-blocks.ts';
import type { KeySchema } from '../keys.ts';
import { type HistoryPoint, historyPointSchema } from '../schema.ts';
import { mgetInParts, type StoreContext } from './context.ts';

// History for graphs. The agent writes packed blocks (shared/history-blocks.ts): a ring of
// `ip-minute-block_{agent}_{ip}_{slot}` keys of 20 minutes each and `ip-hour-block_…` keys of one
// day of hours each, every block a whole value written once complete (or at a stop, to be carried
// on by the next process), so replaying a write changes nothing. Agents before the packed layout
// wrote `ip-minutes_` / `ip-hours_` sorted sets of JSON buckets (partial ones tagged with a
// `part`); those are still read, in the same request, until they age out, and every point with the
// same start is merged.

export type HistoryResolution = 'minute' | 'hour';

export const HISTORY = {
  minute: { bucketSeconds: 60, keepSeconds: 24 * 3600 },
  hour: { bucketSeconds: 3600, keepSeconds: 30 * 24 * 3600 },
} as const;

/** The old layout's sorted set of one IP's history at this resolution. */
export function historyKeyOf(
  keys: KeySchema,
  agent: string,
  ip: string,
  resolution: HistoryResolution,
): string {
  return resolution === 'minute' ? keys.ipMinutes(agent, ip) : keys.ipHours(agent, ip);
}

export function historyStore({ redis, keys }: StoreContext) {
  const blockKeyOf = (agent: string, ip: string, resolution: HistoryResolution, slot: number) =>
    resolution === 'minute' ? keys.ipMinuteBlock(agent, ip, slot) : keys.ipHourBlock(agent, ip, slot);

  return {
    /** Buckets starting in [fromSec, toSec], oldest first, one point per start: one MGET and one ZRANGE, one request. */
    async range(
      agent: string,
      ip: string,
      resolution: HistoryResolution,
      fromSec: number,
      toSec: number,
    ): Promise<HistoryPoint[]> {
      const shape = shapeOf(resolution);
      const starts = blockStartsIn(shape, ip, fromSec, toSec);
      const p = redis.pipeline();
      p.mget(...starts.map((start) => blockKeyOf(agent, ip, resolution, slotOf(shape, ip, start))));
      p.zrange(historyKeyOf(keys, agent, ip, resolution), fromSec, toSec, { byScore: true });
      const [blocks, legacy] = (await p.exec()) as [(string | null)[], string[]];
      const points: HistoryPoint[] = legacy.flatMap((member) => readPoint(member));
      blocks.forEach((raw, i) => {
        // A slot from an earlier turn of the ring holds another start: not this window's.
        const block = typeof raw === 'string' ? decodeBlock(shape, raw) : null;
        if (!block || block.start !== starts[i]) return;
        for (const point of block.points) if (point.t >= fromSec && point.t <= toSec) points.push(point);
      });
      return mergeHistoryPoints(points);
    },

    /** The blocks holding `atSec` for each IP (to carry on a block another process began); null where none. */
    async openBlocks(
      agent: string,
      ips: readonly string[],
      resolution: HistoryResolution,
      atSec: number,
    ): Promise<(HistoryPoint[] | null)[]> {
      if (ips.length === 0) return [];
      const shape = shapeOf(resolution);
      const starts = ips.map((ip) => blockStartOf(shape, ip, atSec));
      const raws = await mgetInParts(
        redis,
        ips.map((ip, i) => blockKeyOf(agent, ip, resolution, slotOf(shape, ip, starts[i]!))),
      );
      return raws.map((raw, i) => {
        const block = typeof raw === 'string' ? decodeBlock(shape, raw) : null;
        return block && block.start === starts[i] ? block.points : null;
      });
    },
  };
}

export function shapeOf(resolution: HistoryResolution): BlockShape {
  return resolution === 'minute' ? MINUTE_BLOCKS : HOUR_BLOCKS;
}

/** Every key of one IP's packed history (both rings), to delete them. */
export function blockKeys(keys: StoreContext['keys'], agent: string, ip: string): string[] {
  const out: string[] = [];
  for (let slot = 0; slot < MINUTE_BLOCKS.slots; slot++) out.push(keys.ipMinuteBlock(agent, ip, slot));
  for (let slot = 0; slot < HOUR_BLOCKS.slots; slot++) out.push(keys.ipHourBlock(agent, ip, slot));
  return out;
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
