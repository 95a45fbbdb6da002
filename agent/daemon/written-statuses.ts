import type { IpStatus } from '../../shared/schema.ts';

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
  let hash = 2166136261;
  for (let i = 0; i < ip.length; i++) hash = Math.imul(hash ^ ip.charCodeAt(i), 16777619);
  return (hash >>> 0) % periodMs;
}

export class WrittenStatuses {
  private readonly written = new Map<string, { status: IpStatus; atMs: number }>();
  /** The newest status of IPs whose last one was not written (counts moved, nothing else). */
  private readonly unwritten = new Map<string, IpStatus>();

  constructor(private readonly refreshMs: number) {}

  /** Whether this run must write the IP's new status. */
  isDue(status: IpStatus, nowMs: number): boolean {
    const last = this.written.get(status.ip);
    if (!last) return true;
    const phase = phaseOf(status.ip, this.refreshMs);
    const period = (t: number) => Math.floor((t - phase) / this.refreshMs);
    return period(nowMs) !== period(last.atMs) || verdictChanged(last.status, status);
  }

  /** Records the run's status of an IP, written or not. */
  record(status: IpStatus, nowMs: number, written: boolean): void {
    if (written) {
      this.written.set(status.ip, { status, atMs: nowMs });
      this.unwritten.delete(status.ip);
    } else {
      this.unwritten.set(status.ip, status);
    }
  }

  /** A status read back from Redis at start: what Redis holds. */
  seed(status: IpStatus): void {
    const at = Date.parse(status.updated_at);
    this.written.set(status.ip, { status, atMs: Number.isFinite(at) ? at : 0 });
  }

  /** The status as Redis holds it (what summaries are built from). */
  get(ip: string): IpStatus | undefined {
    return this.written.get(ip)?.status;
  }

  ips(): IterableIterator<string> {
    return this.written.keys();
  }

  /** Statuses newer than what Redis holds (written at a stop, so the next start continues the counts). */
  takeUnwritten(nowMs: number): IpStatus[] {
    const out = [...this.unwritten.values()];
    for (const status of out) this.written.set(status.ip, { status, atMs: nowMs });
    this.unwritten.clear();
    return out;
  }

  forget(ip: string): void {
    this.written.delete(ip);
    this.unwritten.delete(ip);
  }
}
