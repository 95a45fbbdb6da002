// The err list (`agent-err-list_{agent}`): an IP that loses a probe joins at once; it leaves only
// when a whole clean window has passed since its last loss and at least five probes were answered
// in that time, so one lucky reply after an outage does not clear it.

export const ANSWERS_TO_LEAVE = 5;

interface Entry {
  lastLossMs: number;
  answeredSinceLoss: number;
}

export interface ErrListChange {
  added: string[];
  removed: string[];
}

export class ErrList {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly cleanWindowMs: number) {}

  /** IPs already listed in Redis when the agent starts: their clean window starts now. */
  seed(ips: readonly string[], nowMs: number): void {
    for (const ip of ips) this.entries.set(ip, { lastLossMs: nowMs, answeredSinceLoss: 0 });
  }

  has(ip: string): boolean {
    return this.entries.has(ip);
  }

  members(): string[] {
    return [...this.entries.keys()];
  }

  get size(): number {
    return this.entries.size;
  }

  /** Drops IPs no job probes any more (their errors would otherwise keep them listed for ever). */
  forget(keep: ReadonlySet<string>, change: ErrListChange): void {
    for (const ip of this.entries.keys()) {
      if (keep.has(ip)) continue;
      this.entries.delete(ip);
      change.removed.push(ip);
    }
  }

  /** Feeds one run's outcome for an IP; says whether it joined or left the list. */
  observe(ip: string, sent: number, received: number, nowMs: number, change: ErrListChange): void {
    if (sent === 0) return;
    const entry = this.entries.get(ip);
    if (received < sent) {
      if (entry) {
        entry.lastLossMs = nowMs;
        entry.answeredSinceLoss = 0;
      } else {
        this.entries.set(ip, { lastLossMs: nowMs, answeredSinceLoss: 0 });
        change.added.push(ip);
      }
      return;
    }
    if (!entry) return;
    entry.answeredSinceLoss += received;
    if (nowMs - entry.lastLossMs >= this.cleanWindowMs && entry.answeredSinceLoss >= ANSWERS_TO_LEAVE) {
      this.entries.delete(ip);
      change.removed.push(ip);
    }
  }
}
