import type { HistoryPoint } from '../../shared/schema.ts';
import { HISTORY, type HistoryResolution } from '../../shared/store/history.ts';
import { quantile, roundMs } from '../icmp/rtt-stats.ts';

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

interface MinuteBucket {
  t: number;
  sent: number;
  received: number;
  rtts: number[];
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

export class HistoryBuckets {
  private readonly minutes = new Map<string, MinuteBucket>();
  private readonly hours = new Map<string, HourBucket>();

  /** Adds a run's outcome for an IP at `nowSec`; pushes any bucket this completes into `out`. */
  add(ip: string, sent: number, rttsMs: readonly number[], nowSec: number, out: FinishedPoint[]): void {
    const minuteStart = nowSec - (nowSec % HISTORY.minute.bucketSeconds);
    const hourStart = nowSec - (nowSec % HISTORY.hour.bucketSeconds);

    let minute = this.minutes.get(ip);
    if (minute && minute.t !== minuteStart) {
      out.push({ ip, resolution: 'minute', point: minutePoint(minute) });
      minute = undefined;
    }
    if (!minute) {
      minute = { t: minuteStart, sent: 0, received: 0, rtts: [] };
      this.minutes.set(ip, minute);
    }
    minute.sent += sent;
    minute.received += rttsMs.length;
    for (const rtt of rttsMs) minute.rtts.push(rtt);

    let hour = this.hours.get(ip);
    if (hour && hour.t !== hourStart) {
      out.push({ ip, resolution: 'hour', point: hourPoint(hour) });
      hour = undefined;
    }
    if (!hour) {
      hour = { t: hourStart, sent: 0, received: 0, min: null, max: null, bins: null };
      this.hours.set(ip, hour);
    }
    hour.sent += sent;
    hour.received += rttsMs.length;
    if (rttsMs.length > 0) {
      hour.bins ??= new Uint16Array(BINS);
      for (const rtt of rttsMs) {
        const bin = binOf(rtt);
        if (hour.bins[bin]! < 0xffff) hour.bins[bin]! += 1;
        hour.min = hour.min === null ? rtt : Math.min(hour.min, rtt);
        hour.max = hour.max === null ? rtt : Math.max(hour.max, rtt);
      }
    }
  }

  /**
   * Every bucket still open (at shutdown), as it stands: its block is written with it, and the
   * next process merges its own part of the same bucket into the block it reads back.
   */
  drain(): FinishedPoint[] {
    const out: FinishedPoint[] = [];
    for (const [ip, bucket] of this.minutes)
      out.push({ ip, resolution: 'minute', point: minutePoint(bucket) });
    for (const [ip, bucket] of this.hours) out.push({ ip, resolution: 'hour', point: hourPoint(bucket) });
    this.minutes.clear();
    this.hours.clear();
    return out;
  }

  /** An IP no job probes any more. */
  forget(ip: string): void {
    this.minutes.delete(ip);
    this.hours.delete(ip);
  }
}

function rounded(value: number | null): number | null {
  return value === null ? null : roundMs(value);
}

export function minutePoint(bucket: MinuteBucket): HistoryPoint {
  const sorted = [...bucket.rtts].sort((a, b) => a - b);
  return {
    t: bucket.t,
    sent: bucket.sent,
    received: bucket.received,
    min: rounded(sorted[0] ?? null),
    p10: rounded(quantile(sorted, 0.1)),
    p25: rounded(quantile(sorted, 0.25)),
    median: rounded(quantile(sorted, 0.5)),
    p75: rounded(quantile(sorted, 0.75)),
    p90: rounded(quantile(sorted, 0.9)),
    max: rounded(sorted[sorted.length - 1] ?? null),
  };
}

function hourPoint(bucket: HourBucket): HistoryPoint {
  const q = (p: number) => binQuantile(bucket, p);
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

function binQuantile(bucket: HourBucket, p: number): number | null {
  if (!bucket.bins || bucket.min === null || bucket.max === null) return null;
  const total = bucket.bins.reduce((s, n) => s + n, 0);
  const rank = p * (total - 1);
  let seen = 0;
  for (let bin = 0; bin < BINS; bin++) {
    seen += bucket.bins[bin]!;
    if (seen > rank) return Math.min(bucket.max, Math.max(bucket.min, binValue(bin)));
  }
  return bucket.max;
}
