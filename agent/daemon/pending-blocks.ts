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
import { fitted, IpSlots } from './ip-slots.ts';
import { RecordLists } from './record-lists.ts';

// Completed history points wait here until their block is whole: a minute block (20 minutes) is
// written once, in the run that completes it; an IP's day of hours is rewritten in the same write
// as its next minute block (so the hour blocks of a thousand IPs spread like the minute blocks do).
// At a stop, every open block goes out as it is, and the next start reads them back and carries
// them on, merging a minute or hour both processes saw a part of.

export type Entry = [key: string, value: string];

// A block's points are a list of records (t, sent, received, min .. max; NaN for a null quantile)
// in a shared pool, in the order they came; the block's start is NaN while the IP has none open.
const QUANTILES = ['min', 'p10', 'p25', 'median', 'p75', 'p90', 'max'] as const;
const WIDTH = 3 + QUANTILES.length;
const T = 0;
const SENT = 1;
const RECEIVED = 2;
const FIRST_QUANTILE = 3;

class OpenBlocks {
  readonly slots = new IpSlots();
  // One point per chunk: a block holds from one point to 24, and a point is already 80 bytes.
  readonly points = new RecordLists(WIDTH, 1);
  start = new Float64Array(0);
  dirty = new Uint8Array(0);

  constructor(readonly shape: BlockShape) {}

  /** The IP's slot, its block opened empty at `start`. */
  open(ip: string, start: number): number {
    const slot = this.slots.add(ip);
    this.start = fitted(this.start, this.slots.length, Number.NaN);
    this.dirty = fitted(this.dirty, this.slots.length);
    this.points.clear(slot);
    this.start[slot] = start;
    this.dirty[slot] = 0;
    return slot;
  }

  close(ip: string): void {
    const slot = this.slots.remove(ip);
    if (slot !== undefined) this.points.clear(slot);
  }

  clear(): void {
    for (const slot of this.slots.entries()) this.points.clear(slot[1]);
    this.slots.clear();
  }

  /** Adds a point, merged with one of the same time already in the block. */
  merge(slot: number, point: HistoryPoint): void {
    // `write` copies the point's fields into the pool, so whatever else the object holds stays out.
    const at = this.find(slot, point.t);
    if (at >= 0) this.write(at, mergeHistoryPoints([this.pointAt(at), point])[0]!);
    else this.write(this.points.push(slot), point);
    this.dirty[slot] = 1;
  }

  /** Sets a point as it is, in place of one of the same time. */
  put(slot: number, point: HistoryPoint): void {
    const at = this.find(slot, point.t);
    this.write(at >= 0 ? at : this.points.push(slot), point);
  }

  private find(slot: number, t: number): number {
    const data = this.points.data;
    let found = -1;
    this.points.forEach(slot, (at) => {
      if (data[at + T] === t) found = at;
    });
    return found;
  }

  /** The block's points, in the order they came. */
  pointsOf(slot: number): HistoryPoint[] {
    const out: HistoryPoint[] = [];
    this.points.forEach(slot, (at) => out.push(this.pointAt(at)));
    return out;
  }

  private pointAt(at: number): HistoryPoint {
    const data = this.points.data;
    const point = {
      t: data[at + T]!,
      sent: data[at + SENT]!,
      received: data[at + RECEIVED]!,
    } as HistoryPoint;
    QUANTILES.forEach((q, i) => {
      const value = data[at + FIRST_QUANTILE + i]!;
      point[q] = Number.isNaN(value) ? null : value;
    });
    return point;
  }

  private write(at: number, point: HistoryPoint): void {
    const data = this.points.data;
    data[at + T] = point.t;
    data[at + SENT] = point.sent;
    data[at + RECEIVED] = point.received;
    QUANTILES.forEach((q, i) => {
      data[at + FIRST_QUANTILE + i] = point[q] ?? Number.NaN;
    });
  }
}

export class PendingBlocks {
  private readonly minutes = new OpenBlocks(MINUTE_BLOCKS);
  private readonly days = new OpenBlocks(HOUR_BLOCKS);

  constructor(
    private readonly agent: string,
    private readonly keys: KeySchema,
  ) {}

  /** Adds completed points; pushes the entries of blocks they complete into `out`. */
  add(finished: readonly FinishedPoint[], out: Entry[]): void {
    for (const { ip, resolution, point } of finished) {
      if (resolution === 'hour') {
        const day = this.open(this.days, ip, point.t, out);
        this.days.merge(day, point);
        continue;
      }
      const slot = this.open(this.minutes, ip, point.t, out);
      this.minutes.merge(slot, point);
      if (point.t === this.minutes.start[slot]! + (MINUTE_BLOCKS.points - 1) * MINUTE_BLOCKS.pointSeconds) {
        this.handOutMinutes(ip, slot, out);
        this.minutes.close(ip);
      }
    }
  }

  /** Points another process wrote into the blocks still open at `nowSec`. */
  seed(ip: string, resolution: 'minute' | 'hour', points: readonly HistoryPoint[], start: number): void {
    const blocks = resolution === 'minute' ? this.minutes : this.days;
    const slot = blocks.open(ip, start);
    for (const point of points) blocks.put(slot, point);
  }

  /** Every open block, as it stands (at a stop). */
  drain(out: Entry[]): void {
    for (const [ip, slot] of this.minutes.slots.entries()) out.push(this.entry(this.minutes, ip, slot));
    for (const ip of this.days.slots.ips()) this.flushDay(ip, out);
    this.minutes.clear();
    this.days.clear();
  }

  forget(ip: string): void {
    this.minutes.close(ip);
    this.days.close(ip);
  }

  /** The IP's block holding time `t`, the one it replaces handed out first. */
  private open(blocks: OpenBlocks, ip: string, t: number, out: Entry[]): number {
    const start = blockStartOf(blocks.shape, ip, t);
    const slot = blocks.slots.slotOf(ip);
    if (slot !== undefined && blocks.start[slot] === start) return slot;
    if (slot !== undefined) {
      // A block left incomplete (the agent paused, or the points of its end never came).
      if (blocks === this.minutes) this.handOutMinutes(ip, slot, out);
      else this.flushDay(ip, out);
    }
    return blocks.open(ip, start);
  }

  /** The IP's minute block, and its day of hours with it (see the top of the file). */
  private handOutMinutes(ip: string, slot: number, out: Entry[]): void {
    out.push(this.entry(this.minutes, ip, slot));
    this.flushDay(ip, out);
  }

  private flushDay(ip: string, out: Entry[]): void {
    const slot = this.days.slots.slotOf(ip);
    if (slot === undefined || !this.days.dirty[slot]) return;
    out.push(this.entry(this.days, ip, slot));
    this.days.dirty[slot] = 0;
  }

  private entry(blocks: OpenBlocks, ip: string, slot: number): Entry {
    const { shape } = blocks;
    const start = blocks.start[slot]!;
    const ring = slotOf(shape, ip, start);
    const key =
      shape === MINUTE_BLOCKS
        ? this.keys.ipMinuteBlock(this.agent, ip, ring)
        : this.keys.ipHourBlock(this.agent, ip, ring);
    return [key, encodeBlock(shape, start, blocks.pointsOf(slot))];
  }
}
