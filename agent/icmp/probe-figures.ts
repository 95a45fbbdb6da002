import type { TargetFigures } from '../../shared/measurement-schema.ts';
import { rttStats } from './rtt-stats.ts';
import type { TargetResult } from './types.ts';

// One target's figures as `ping-agent probe --json` prints them and on-demand measurements store
// them: counts, loss as a fraction, RTT statistics (null when nothing came back), the reply TTL,
// late and duplicate replies, and the ICMP errors seen.

export function probeFigures(r: TargetResult): TargetFigures {
  return {
    ip: r.ip,
    sent: r.sent,
    received: r.received,
    loss: r.sent === 0 ? 0 : (r.sent - r.received) / r.sent,
    rtt_ms: rttStats(r.rttsMs),
    ttl: r.ttl,
    late: r.late,
    duplicates: r.duplicates,
    errors: { unreachable: r.unreachable, ttl_exceeded: r.ttlExceeded },
  };
}
