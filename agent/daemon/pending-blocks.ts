import {
  type BlockShape,
  blockStartOf,
  encodeBlock,
  HOUR_BLOCKS,
  MINUTE_BLOCKS,
  slotOf,
} from '../../shared/history-blocks.ts';
import type { KeySchema } from '../../shared/keys.ts';
import type { HistoryPoint } from '../../shared/schema.ts';
import { mergeHistoryPoints } from '../../shared/store/history.ts';
import type { FinishedPoint } from './history-buckets.ts';

// Completed history points wait here until their block is whole: a minute block (20 minutes) is
// written once, in the run that completes it; an IP's day of hours is rewritten in the same write
// as its next minute block (so the hour blocks of a thousand IPs spread like the minute blocks do).
// At a stop, every open block goes out as it is, and the next start reads them back and carries
// them on, merging a minute or hour both processes saw a part of.

interface Block {
  start: number;
  points: Map<number, HistoryPoint>;
  dirty: boolean;
}

export type Entry = [key: string, value: string];

export class PendingBlocks {
  private readonly minutes = new Map<string, Block>();
  private readonly days = new Map<string, Block>();

  constructor(
    private readonly agent: string,
    private readonly keys: KeySchema,
  ) {}

  /** Adds completed points; pushes the entries of blocks they complete into `out`. */
  add(finished: readonly FinishedPoint[], out: Entry[]): void {
    for (const { ip, resolution, point } of finished) {
      if (resolution === 'hour') {
        const day = this.open(this.days, HOUR_BLOCKS, ip, point.t, out);
        merge(day, point);
        continue;
      }
      const block = this.open(this.minutes, MINUTE_BLOCKS, ip, point.t, out);
      merge(block, point);
      if (point.t === block.start + (MINUTE_BLOCKS.points - 1) * MINUTE_BLOCKS.pointSeconds) {
        out.push(this.entry(MINUTE_BLOCKS, ip, block));
        this.minutes.delete(ip);
        this.flushDay(ip, out);
      }
    }
  }

  /** Points another process wrote into the blocks still open at `nowSec`. */
  seed(ip: string, resolution: 'minute' | 'hour', points: readonly HistoryPoint[], start: number): void {
    const map = resolution === 'minute' ? this.minutes : this.days;
    map.set(ip, { start, points: new Map(points.map((p) => [p.t, p])), dirty: false });
  }

  /** Every open block, as it stands (at a stop). */
  drain(out: Entry[]): void {
    for (const [ip, block] of this.minutes) out.push(this.entry(MINUTE_BLOCKS, ip, block));
    for (const ip of this.days.keys()) this.flushDay(ip, out);
    this.minutes.clear();
    this.days.clear();
  }

  forget(ip: string): void {
    this.minutes.delete(ip);
    this.days.delete(ip);
  }

  private open(map: Map<string, Block>, shape: BlockShape, ip: string, t: number, out: Entry[]): Block {
    const start = blockStartOf(shape, ip, t);
    let block = map.get(ip);
    if (block && block.start !== start) {
      // A block left incomplete (the agent paused, or the points of its end never came).
      if (shape === MINUTE_BLOCKS) {
        out.push(this.entry(shape, ip, block));
        this.flushDay(ip, out);
      } else if (block.dirty) out.push(this.entry(shape, ip, block));
      block = undefined;
    }
    if (!block) {
      block = { start, points: new Map(), dirty: false };
      map.set(ip, block);
    }
    return block;
  }

  private flushDay(ip: string, out: Entry[]): void {
    const day = this.days.get(ip);
    if (!day?.dirty) return;
    out.push(this.entry(HOUR_BLOCKS, ip, day));
    day.dirty = false;
  }

  private entry(shape: BlockShape, ip: string, block: Block): Entry {
    const slot = slotOf(shape, ip, block.start);
    const key =
      shape === MINUTE_BLOCKS
        ? this.keys.ipMinuteBlock(this.agent, ip, slot)
        : this.keys.ipHourBlock(this.agent, ip, slot);
    return [key, encodeBlock(shape, block.start, [...block.points.values()])];
  }
}

function merge(block: Block, point: HistoryPoint): void {
  const { t, sent, received, min, p10, p25, median, p75, p90, max } = point;
  const clean = { t, sent, received, min, p10, p25, median, p75, p90, max };
  const before = block.points.get(t);
  block.points.set(t, before ? mergeHistoryPoints([before, clean])[0]! : clean);
  block.dirty = true;
}
