import type { HistoryPoint } from '../../shared/schema.ts';
import { HISTORY, type HistoryResolution } from '../../shared/store/history.ts';
import { quantile, roundMs } from '../icmp/rtt-stats.ts';
import { fitted, IpSlots } from './ip-slots.ts';
import { RecordLists } from './record-lists.ts';

// Per-IP aggregates for the graphs. The current minute keeps its RTTs (a handful per IP), so its
// quantiles are exact. The current hour keeps a log-scale histogram instead of every RTT (a fixed
// 2 bytes per bin per IP, whatever the probe rate), so its quantiles are within one bin (±7%) and
// clamped to the exact min and max. A bucket is handed out once, when the first result of a later
// bucket arrives (or at shutdown), so each is written to Redis as one whole member.

const BIN_BASE_MS = 0.01;
const BIN_RATIO = 1.15;
const BINS = 110;
const LOG_RATIO = Math.log(BIN_RATIO);

function binOf(rttMs: number): number {
  if (rttMs <= BIN_BASE_MS) return 0;
  return Math.min(BINS - 1, Math.floor(Math.log(rttMs / BIN_BASE_MS) / LOG_RATIO));
}

/** The geometric middle of a bin. */
function binValue(bin: number): number {
  return BIN_BASE_MS * BIN_RATIO ** (bin + 0.5);
}

interface HourBucket {
  t: number;
  sent: number;
  received: number;
  min: number | null;
  max: number | null;
  bins: Uint16Array | null;
}

export interface FinishedPoint {
  ip: string;
  resolution: HistoryResolution;
  point: HistoryPoint;
}

/**
 * An IP's open minute and hour live in columns indexed by its slot (NaN for a null min or max), its
 * minute's RTTs in a shared list pool and its hour's histogram in one shared array of bins. An
 * IP's hour has bins exactly when it has a min (some reply came in that hour).
 */
export class HistoryBuckets {
  private readonly slots = new IpSlots();
  private minuteT = new Float64Array(0);
  private minuteSent = new Float64Array(0);
  private minuteReceived = new Float64Array(0);
  private readonly minuteRtts = new RecordLists(1, 8);
  private hourT = new Float64Array(0);
  private hourSent = new Float64Array(0);
  private hourReceived = new Float64Array(0);
  private hourMin = new Float64Array(0);
  private hourMax = new Float64Array(0);
  private bins = new Uint16Array(0);
  /**
   * One minute's RTTs, copied out and sorted in place for its quantiles: a sorted array per IP
   * per minute was most of what the agent allocated when a minute turned (some 12 MB at 10,000
   * targets), since sorting an array of numbers boxes each of them.
   */
  private sortedRtts = new Float64Array(16);

  /** Sizes the columns for a run's IPs before they are added (see IpSlots.expect). */
  expect(results: readonly { readonly ip: string }[]): void {
    const fresh = this.slots.expect(results);
    this.minuteRtts.expect(this.slots.room, fresh);
  }

  /** Adds a run's outcome for an IP at `nowSec`; pushes any bucket this completes into `out`. */
  add(ip: string, sent: number, rttsMs: readonly number[], nowSec: number, out: FinishedPoint[]): void {
    const minuteStart = nowSec - (nowSec % HISTORY.minute.bucketSeconds);
    const hourStart = nowSec - (nowSec % HISTORY.hour.bucketSeconds);
    let slot = this.slots.slotOf(ip);
    if (slot === undefined) {
      slot = this.slotFor(ip);
      this.openMinute(slot, minuteStart);
      this.openHour(slot, hourStart);
    }

    if (this.minuteT[slot] !== minuteStart) {
      out.push({ ip, resolution: 'minute', point: this.minutePoint(slot) });
      this.openMinute(slot, minuteStart);
    }
    this.minuteSent[slot]! += sent;
    this.minuteReceived[slot]! += rttsMs.length;
    for (const rtt of rttsMs) {
      const at = this.minuteRtts.push(slot);
      this.minuteRtts.data[at] = rtt;
    }

    if (this.hourT[slot] !== hourStart) {
      out.push({ ip, resolution: 'hour', point: hourPoint(this.hourOf(slot)) });
      this.openHour(slot, hourStart);
    }
    this.hourSent[slot]! += sent;
    this.hourReceived[slot]! += rttsMs.length;
    if (rttsMs.length > 0) {
      const base = slot * BINS;
      let min = this.hourMin[slot]!;
      let max = this.hourMax[slot]!;
      for (const rtt of rttsMs) {
        const bin = base + binOf(rtt);
        if (this.bins[bin]! < 0xffff) this.bins[bin]! += 1;
        min = Number.isNaN(min) ? rtt : Math.min(min, rtt);
        max = Number.isNaN(max) ? rtt : Math.max(max, rtt);
      }
      this.hourMin[slot] = min;
      this.hourMax[slot] = max;
    }
  }

  /**
   * Every bucket still open (at shutdown), as it stands: its block is written with it, and the
   * next process merges its own part of the same bucket into the block it reads back.
   */
  drain(): FinishedPoint[] {
    const out: FinishedPoint[] = [];
    for (const [ip, slot] of this.slots.entries())
      out.push({ ip, resolution: 'minute', point: this.minutePoint(slot) });
    for (const [ip, slot] of this.slots.entries()) {
      out.push({ ip, resolution: 'hour', point: hourPoint(this.hourOf(slot)) });
      this.minuteRtts.clear(slot);
    }
    this.slots.clear();
    return out;
  }

  /** An IP no job probes any more. */
  forget(ip: string): void {
    const slot = this.slots.remove(ip);
    if (slot !== undefined) this.minuteRtts.clear(slot);
  }

  private slotFor(ip: string): number {
    const slot = this.slots.add(ip);
    const length = this.slots.length;
    const room = this.slots.room;
    this.minuteT = fitted(this.minuteT, length, 0, room);
    this.minuteSent = fitted(this.minuteSent, length, 0, room);
    this.minuteReceived = fitted(this.minuteReceived, length, 0, room);
    this.hourT = fitted(this.hourT, length, 0, room);
    this.hourSent = fitted(this.hourSent, length, 0, room);
    this.hourReceived = fitted(this.hourReceived, length, 0, room);
    this.hourMin = fitted(this.hourMin, length, 0, room);
    this.hourMax = fitted(this.hourMax, length, 0, room);
    this.bins = fitted(this.bins, length * BINS, 0, room * BINS);
    return slot;
  }

  private openMinute(slot: number, t: number): void {
    this.minuteT[slot] = t;
    this.minuteSent[slot] = 0;
    this.minuteReceived[slot] = 0;
    this.minuteRtts.clear(slot);
  }

  private openHour(slot: number, t: number): void {
    this.hourT[slot] = t;
    this.hourSent[slot] = 0;
    this.hourReceived[slot] = 0;
    this.hourMin[slot] = Number.NaN;
    this.hourMax[slot] = Number.NaN;
    this.bins.fill(0, slot * BINS, (slot + 1) * BINS);
  }

  /** The point of the IP's minute as it stands: exact quantiles of its RTTs. */
  private minutePoint(slot: number): HistoryPoint {
    const n = this.minuteRtts.length(slot);
    if (this.sortedRtts.length < n)
      this.sortedRtts = new Float64Array(Math.max(n, 2 * this.sortedRtts.length));
    const sorted = this.sortedRtts.subarray(0, n);
    this.minuteRtts.copyTo(slot, sorted);
    // A typed array sorts numerically, in place, without boxing.
    sorted.sort();
    return {
      t: this.minuteT[slot]!,
      sent: this.minuteSent[slot]!,
      received: this.minuteReceived[slot]!,
      min: rounded(sorted[0] ?? null),
      p10: rounded(quantile(sorted, 0.1)),
      p25: rounded(quantile(sorted, 0.25)),
      median: rounded(quantile(sorted, 0.5)),
      p75: rounded(quantile(sorted, 0.75)),
      p90: rounded(quantile(sorted, 0.9)),
      max: rounded(sorted[n - 1] ?? null),
    };
  }

  private hourOf(slot: number): HourBucket {
    const min = this.hourMin[slot]!;
    const max = this.hourMax[slot]!;
    return {
      t: this.hourT[slot]!,
      sent: this.hourSent[slot]!,
      received: this.hourReceived[slot]!,
      min: Number.isNaN(min) ? null : min,
      max: Number.isNaN(max) ? null : max,
      bins: Number.isNaN(min) ? null : this.bins.subarray(slot * BINS, (slot + 1) * BINS),
    };
  }
}

function rounded(value: number | null): number | null {
  return value === null ? null : roundMs(value);
}

function hourPoint(bucket: HourBucket): HistoryPoint {
  // The bins are counted once for the five quantiles.
  const total = bucket.bins ? bucket.bins.reduce((s, n) => s + n, 0) : 0;
  const q = (p: number) => binQuantile(bucket, total, p);
  return {
    t: bucket.t,
    sent: bucket.sent,
    received: bucket.received,
    min: rounded(bucket.min),
    p10: rounded(q(0.1)),
    p25: rounded(q(0.25)),
    median: rounded(q(0.5)),
    p75: rounded(q(0.75)),
    p90: rounded(q(0.9)),
    max: rounded(bucket.max),
  };
}

/** The p-quantile of the hour's RTTs, from its bins (`total`: their sum). */
function binQuantile(bucket: HourBucket, total: number, p: number): number | null {
  if (!bucket.bins || bucket.min === null || bucket.max === null) return null;
  const rank = p * (total - 1);
  let seen = 0;
  for (let bin = 0; bin < BINS; bin++) {
    seen += bucket.bins[bin]!;
    if (seen > rank) return Math.min(bucket.max, Math.max(bucket.min, binValue(bin)));
  }
  return bucket.max;
}
