import type { IpStatus } from '../../shared/schema.ts';
import { roundMs } from '../icmp/rtt-stats.ts';
import type { TargetResult } from '../icmp/types.ts';

// What the agent knows about each IP it probes: cumulative counts and RTT statistics since the
// `ip_{agent}_{ip}` key was created, the last error, and the recent samples behind the loss over
// the clean window. The status written to Redis is always rebuilt whole from this, which is what
// makes a replayed write harmless.

interface Sample {
  atMs: number;
  sent: number;
  received: number;
}

interface IpRecord {
  sent: number;
  received: number;
  /** Sum and sum of squares of every RTT counted, for the average and mdev. */
  sum: number;
  sumSquares: number;
  min: number | null;
  max: number | null;
  last: number | null;
  ttl: number | null;
  err: string | null;
  samples: Sample[];
}

export class IpStateTable {
  private readonly records = new Map<string, IpRecord>();

  constructor(private readonly windowS: number) {}

  get size(): number {
    return this.records.size;
  }

  /** Continues the counts of a status read back from Redis (after a restart). */
  seed(status: IpStatus): void {
    const n = status.return_count;
    const avg = status.rtt_avg_ms ?? 0;
    const mdev = status.rtt_mdev_ms ?? 0;
    this.records.set(status.ip, {
      sent: status.send_count,
      received: n,
      sum: avg * n,
      sumSquares: (mdev * mdev + avg * avg) * n,
      min: status.rtt_min_ms ?? null,
      max: status.rtt_max_ms ?? null,
      last: status.rtt_last_ms ?? null,
      ttl: status.ttl ?? null,
      err: status.err,
      samples: [],
    });
  }

  /** Adds one run's result for an IP; returns its new status. */
  record(result: TargetResult, nowMs: number): IpStatus {
    let rec = this.records.get(result.ip);
    if (!rec) {
      rec = {
        sent: 0,
        received: 0,
        sum: 0,
        sumSquares: 0,
        min: null,
        max: null,
        last: null,
        ttl: null,
        err: null,
        samples: [],
      };
      this.records.set(result.ip, rec);
    }
    rec.sent += result.sent;
    rec.received += result.received;
    for (const rtt of result.rttsMs) {
      rec.sum += rtt;
      rec.sumSquares += rtt * rtt;
      rec.min = rec.min === null ? rtt : Math.min(rec.min, rtt);
      rec.max = rec.max === null ? rtt : Math.max(rec.max, rtt);
    }
    if (result.rttsMs.length > 0) rec.last = result.rttsMs[result.rttsMs.length - 1]!;
    if (result.ttl !== null) rec.ttl = result.ttl;
    rec.err = errorOf(result);
    rec.samples.push({ atMs: nowMs, sent: result.sent, received: result.received });
    const horizon = nowMs - this.windowS * 1000;
    while (rec.samples.length > 0 && rec.samples[0]!.atMs < horizon) rec.samples.shift();
    return this.statusOf(result.ip, rec, nowMs);
  }

  /** An IP no job probes any more. */
  forget(ip: string): void {
    this.records.delete(ip);
  }

  private statusOf(ip: string, rec: IpRecord, nowMs: number): IpStatus {
    const avg = rec.received > 0 ? rec.sum / rec.received : null;
    const variance = avg === null ? null : Math.max(0, rec.sumSquares / rec.received - avg * avg);
    const windowSent = rec.samples.reduce((s, x) => s + x.sent, 0);
    const windowReceived = rec.samples.reduce((s, x) => s + x.received, 0);
    return {
      ip,
      send_count: rec.sent,
      return_count: rec.received,
      err: rec.err,
      rtt_last_ms: rec.last === null ? null : roundMs(rec.last),
      rtt_min_ms: rec.min === null ? null : roundMs(rec.min),
      rtt_avg_ms: avg === null ? null : roundMs(avg),
      rtt_max_ms: rec.max === null ? null : roundMs(rec.max),
      rtt_mdev_ms: variance === null ? null : roundMs(Math.sqrt(variance)),
      ttl: rec.ttl,
      loss_window: windowSent === 0 ? 0 : Math.round((1 - windowReceived / windowSent) * 10_000) / 10_000,
      window_s: this.windowS,
      updated_at: new Date(nowMs).toISOString(),
    };
  }
}

/** What went wrong with the last probes of a run, in words; null when every probe came back. */
export function errorOf(result: TargetResult): string | null {
  if (result.sent === 0) return 'not sent';
  if (result.received === result.sent) return null;
  const lost = result.sent - result.received;
  if (result.unreachable) {
    return `unreachable (code ${result.unreachable.code}) from ${result.unreachable.from}`;
  }
  if (result.ttlExceeded) return `ttl exceeded from ${result.ttlExceeded.from}`;
  return lost === result.sent ? 'timeout' : `timeout (${lost} of ${result.sent} lost)`;
}
