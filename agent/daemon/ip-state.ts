import type { IpStatus } from '../../shared/schema.ts';
import { roundMs } from '../icmp/rtt-stats.ts';
import type { TargetResult } from '../icmp/types.ts';
import { fitted, IpSlots } from './ip-slots.ts';
import { RecordLists } from './record-lists.ts';

// What the agent knows about each IP it probes: cumulative counts and RTT statistics since the
// `ip_{agent}_{ip}` key was created, the last error, and the recent samples behind the loss over
// the clean window. The status written to Redis is always rebuilt whole from this, which is what
// makes a replayed write harmless.

// One slot per IP; null figures are NaN in the columns.
const SAMPLE_WIDTH = 3; // atMs, sent, received
const AT = 0;
const SENT = 1;
const RECEIVED = 2;

const orNull = (value: number): number | null => (Number.isNaN(value) ? null : value);
const msOrNull = (value: number): number | null => (Number.isNaN(value) ? null : roundMs(value));

export class IpStateTable {
  private readonly slots = new IpSlots();
  private sent = new Float64Array(0);
  private received = new Float64Array(0);
  /** Sum and sum of squares of every RTT counted, for the average and mdev. */
  private sum = new Float64Array(0);
  private sumSquares = new Float64Array(0);
  private min = new Float64Array(0);
  private max = new Float64Array(0);
  private last = new Float64Array(0);
  private ttl = new Float64Array(0);
  private readonly err: (string | null)[] = [];
  /** Sent and received over the samples still in the window. */
  private windowSent = new Float64Array(0);
  private windowReceived = new Float64Array(0);
  /** When the IP's last result was recorded (its status can be told again as it was then). */
  private recordedAtMs = new Float64Array(0);
  private readonly samples = new RecordLists(SAMPLE_WIDTH, 4);
  /** The last `updated_at` made: every status of a run shares its time, so one string serves them. */
  private isoMs = Number.NaN;
  private iso = '';

  constructor(private readonly windowS: number) {}

  get size(): number {
    return this.slots.size;
  }

  /** Sizes the columns for a run's results before they are recorded (see IpSlots.expect). */
  expect(results: readonly TargetResult[]): void {
    const fresh = this.slots.expect(results);
    this.samples.expect(this.slots.room, fresh);
  }

  /** Continues the counts of a status read back from Redis (after a restart). */
  seed(status: IpStatus): void {
    const n = status.return_count;
    const avg = status.rtt_avg_ms ?? 0;
    const mdev = status.rtt_mdev_ms ?? 0;
    const slot = this.slotFor(status.ip);
    this.sent[slot] = status.send_count;
    this.received[slot] = n;
    this.sum[slot] = avg * n;
    this.sumSquares[slot] = (mdev * mdev + avg * avg) * n;
    this.min[slot] = status.rtt_min_ms ?? Number.NaN;
    this.max[slot] = status.rtt_max_ms ?? Number.NaN;
    this.last[slot] = status.rtt_last_ms ?? Number.NaN;
    this.ttl[slot] = status.ttl ?? Number.NaN;
    this.err[slot] = status.err;
  }

  /** Adds one run's result for an IP; returns its new status. */
  record(result: TargetResult, nowMs: number): IpStatus {
    let slot = this.slots.slotOf(result.ip);
    if (slot === undefined) slot = this.slotFor(result.ip);
    this.sent[slot]! += result.sent;
    this.received[slot]! += result.received;
    let sum = this.sum[slot]!;
    let sumSquares = this.sumSquares[slot]!;
    let min = this.min[slot]!;
    let max = this.max[slot]!;
    for (const rtt of result.rttsMs) {
      sum += rtt;
      sumSquares += rtt * rtt;
      min = Number.isNaN(min) ? rtt : Math.min(min, rtt);
      max = Number.isNaN(max) ? rtt : Math.max(max, rtt);
    }
    this.sum[slot] = sum;
    this.sumSquares[slot] = sumSquares;
    this.min[slot] = min;
    this.max[slot] = max;
    if (result.rttsMs.length > 0) this.last[slot] = result.rttsMs[result.rttsMs.length - 1]!;
    if (result.ttl !== null) this.ttl[slot] = result.ttl;
    this.err[slot] = errorOf(result);
    const at = this.samples.push(slot);
    const data = this.samples.data;
    data[at + AT] = nowMs;
    data[at + SENT] = result.sent;
    data[at + RECEIVED] = result.received;
    this.windowSent[slot]! += result.sent;
    this.windowReceived[slot]! += result.received;
    const horizon = nowMs - this.windowS * 1000;
    for (let first = this.samples.firstAt(slot); first >= 0; first = this.samples.firstAt(slot)) {
      if (this.samples.data[first + AT]! >= horizon) break;
      this.windowSent[slot]! -= this.samples.data[first + SENT]!;
      this.windowReceived[slot]! -= this.samples.data[first + RECEIVED]!;
      this.samples.shift(slot);
    }
    this.recordedAtMs[slot] = nowMs;
    return this.statusOf(result.ip, slot, nowMs);
  }

  /** The status the IP's last recorded result gave; undefined when none was recorded. */
  lastStatus(ip: string): IpStatus | undefined {
    const slot = this.slots.slotOf(ip);
    if (slot === undefined || Number.isNaN(this.recordedAtMs[slot]!)) return undefined;
    return this.statusOf(ip, slot, this.recordedAtMs[slot]!);
  }

  /** An IP no job probes any more. */
  forget(ip: string): void {
    const slot = this.slots.remove(ip);
    if (slot === undefined) return;
    this.samples.clear(slot);
    this.err[slot] = null;
  }

  /** A slot for the IP, its figures as for an IP never probed. */
  private slotFor(ip: string): number {
    const slot = this.slots.add(ip);
    const length = this.slots.length;
    const room = this.slots.room;
    this.sent = fitted(this.sent, length, 0, room);
    this.received = fitted(this.received, length, 0, room);
    this.sum = fitted(this.sum, length, 0, room);
    this.sumSquares = fitted(this.sumSquares, length, 0, room);
    this.min = fitted(this.min, length, 0, room);
    this.max = fitted(this.max, length, 0, room);
    this.last = fitted(this.last, length, 0, room);
    this.ttl = fitted(this.ttl, length, 0, room);
    this.windowSent = fitted(this.windowSent, length, 0, room);
    this.windowReceived = fitted(this.windowReceived, length, 0, room);
    this.recordedAtMs = fitted(this.recordedAtMs, length, 0, room);
    this.sent[slot] = 0;
    this.received[slot] = 0;
    this.sum[slot] = 0;
    this.sumSquares[slot] = 0;
    this.min[slot] = Number.NaN;
    this.max[slot] = Number.NaN;
    this.last[slot] = Number.NaN;
    this.ttl[slot] = Number.NaN;
    this.err[slot] = null;
    this.windowSent[slot] = 0;
    this.windowReceived[slot] = 0;
    this.recordedAtMs[slot] = Number.NaN;
    this.samples.clear(slot);
    return slot;
  }

  private isoOf(ms: number): string {
    if (ms !== this.isoMs) {
      this.isoMs = ms;
      this.iso = new Date(ms).toISOString();
    }
    return this.iso;
  }

  private statusOf(ip: string, slot: number, nowMs: number): IpStatus {
    const received = this.received[slot]!;
    // NaN (null in the status) until some reply came in.
    const avg = received > 0 ? this.sum[slot]! / received : Number.NaN;
    const mdev =
      received > 0 ? Math.sqrt(Math.max(0, this.sumSquares[slot]! / received - avg * avg)) : Number.NaN;
    const windowSent = this.windowSent[slot]!;
    const windowReceived = this.windowReceived[slot]!;
    return {
      ip,
      send_count: this.sent[slot]!,
      return_count: received,
      err: this.err[slot] ?? null,
      rtt_last_ms: msOrNull(this.last[slot]!),
      rtt_min_ms: msOrNull(this.min[slot]!),
      rtt_avg_ms: msOrNull(avg),
      rtt_max_ms: msOrNull(this.max[slot]!),
      rtt_mdev_ms: msOrNull(mdev),
      ttl: orNull(this.ttl[slot]!),
      loss_window: windowSent === 0 ? 0 : Math.round((1 - windowReceived / windowSent) * 10_000) / 10_000,
      window_s: this.windowS,
      updated_at: this.isoOf(nowMs),
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
