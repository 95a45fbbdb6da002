import { fnv1a32 } from '../../shared/fnv1a.ts';
import type { IpStatus } from '../../shared/schema.ts';
import { fitted, IpSlots } from './ip-slots.ts';

// Which statuses a run writes. Writing every IP's whole JSON status on every run cost more
// bandwidth than Upstash's free tier holds, so a status is written when something a check looks at
// changed (err, loss over the window, the average RTT by more than 10 % and 1 ms) and otherwise once
// per refresh period, each IP at its own phase inside the period so every run carries about the
// same number. What was written last is kept: the group summaries are built from exactly what
// Redis holds, and the stop writes whatever changed since.

export function verdictChanged(before: IpStatus, after: IpStatus): boolean {
  if (before.err !== after.err) return true;
  if ((before.loss_window ?? 0) !== (after.loss_window ?? 0)) return true;
  const a = before.rtt_avg_ms ?? null;
  const b = after.rtt_avg_ms ?? null;
  if (a === null || b === null) return a !== b;
  // Whichever is larger: 10 % of a 0.05 ms loopback RTT is jitter, 1 ms of a 100 ms path too.
  const delta = Math.abs(b - a);
  return delta > Math.max(1, 0.1 * a);
}

function phaseOf(ip: string, periodMs: number): number {
  return fnv1a32(ip) % periodMs;
}

export class WrittenStatuses {
  private readonly slots = new IpSlots();
  /** Per slot: the status Redis holds and when it was written. */
  private readonly statuses: (IpStatus | undefined)[] = [];
  private writtenAtMs = new Float64Array(0);
  /** Per slot: the IP's phase inside the refresh period (its hash, kept so a run does not redo it). */
  private phase = new Float64Array(0);
  /**
   * IPs whose newest status was not written (counts moved, nothing else). The status itself is told
   * again at the stop by whoever recorded it, rather than kept here a second time per IP.
   */
  private readonly unwritten = new Set<string>();

  constructor(private readonly refreshMs: number) {}

  /** Sizes the columns for a run's IPs before their statuses are recorded (see IpSlots.expect). */
  expect(results: readonly { readonly ip: string }[]): void {
    this.slots.expect(results);
  }

  /** Whether this run must write the IP's new status. */
  isDue(status: IpStatus, nowMs: number): boolean {
    const slot = this.slots.slotOf(status.ip);
    if (slot === undefined) return true;
    const phase = this.phase[slot]!;
    const period = (t: number) => Math.floor((t - phase) / this.refreshMs);
    return period(nowMs) !== period(this.writtenAtMs[slot]!) || verdictChanged(this.statuses[slot]!, status);
  }

  /** Records the run's status of an IP, written or not. */
  record(status: IpStatus, nowMs: number, written: boolean): void {
    if (written) {
      this.set(status, nowMs);
      this.unwritten.delete(status.ip);
    } else {
      this.unwritten.add(status.ip);
    }
  }

  /** A status read back from Redis at start: what Redis holds. */
  seed(status: IpStatus): void {
    const at = Date.parse(status.updated_at);
    this.set(status, Number.isFinite(at) ? at : 0);
  }

  /** The status as Redis holds it (what summaries are built from). */
  get(ip: string): IpStatus | undefined {
    const slot = this.slots.slotOf(ip);
    return slot === undefined ? undefined : this.statuses[slot];
  }

  ips(): IterableIterator<string> {
    return this.slots.ips();
  }

  /**
   * Statuses newer than what Redis holds (written at a stop, so the next start continues the
   * counts): `newest` tells an IP's newest status again.
   */
  takeUnwritten(nowMs: number, newest: (ip: string) => IpStatus | undefined): IpStatus[] {
    const out: IpStatus[] = [];
    for (const ip of this.unwritten) {
      const status = newest(ip);
      if (status) out.push(status);
    }
    for (const status of out) this.set(status, nowMs);
    this.unwritten.clear();
    return out;
  }

  forget(ip: string): void {
    const slot = this.slots.remove(ip);
    if (slot !== undefined) this.statuses[slot] = undefined;
    this.unwritten.delete(ip);
  }

  private set(status: IpStatus, atMs: number): void {
    const slot = this.slots.add(status.ip);
    this.writtenAtMs = fitted(this.writtenAtMs, this.slots.length, 0, this.slots.room);
    this.phase = fitted(this.phase, this.slots.length, 0, this.slots.room);
    if (this.statuses[slot] === undefined) this.phase[slot] = phaseOf(status.ip, this.refreshMs);
    this.statuses[slot] = status;
    this.writtenAtMs[slot] = atMs;
  }
}
