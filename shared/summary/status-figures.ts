import type { IpStatus, SummaryEntry } from '../schema.ts';

// The few figures of a status that a check reads. The full read and the summary both go through
// these, so the two can only disagree about which statuses they look at, never about what one means.

/** The loss window, else the loss of the cumulative counters; null before anything was sent. */
export function statusLoss(status: IpStatus): number | null {
  if (status.loss_window !== undefined) return status.loss_window;
  return status.send_count > 0 ? 1 - status.return_count / status.send_count : null;
}

export function entryOf(status: IpStatus): SummaryEntry {
  return {
    ip: status.ip,
    loss: statusLoss(status),
    rtt: status.rtt_avg_ms ?? null,
    sent: status.send_count,
    returned: status.return_count,
    err: status.err,
  };
}

/** Seconds from `fromMs` to `nowMs`, to a tenth; null for an unreadable time. */
export function ageSeconds(fromMs: number, nowMs: number): number | null {
  return Number.isNaN(fromMs) ? null : Math.max(0, Math.round((nowMs - fromMs) / 100) / 10);
}
