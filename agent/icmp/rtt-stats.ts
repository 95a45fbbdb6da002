// Summary statistics of round-trip times, as fping and ping report them (mdev is ping's: the
// population standard deviation), plus a median and p95 by linear interpolation. The agent's
// history buckets take their quantiles and rounding from here too.

export interface RttStats {
  min: number;
  avg: number;
  max: number;
  p50: number;
  p95: number;
  mdev: number;
}

/** The q-quantile (0..1) of ascending values, linearly interpolated; null for none. */
export function quantile(sorted: ArrayLike<number>, q: number): number | null {
  if (sorted.length === 0) return null;
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  const a = sorted[low]!;
  const b = sorted[high]!;
  return a + (b - a) * (position - low);
}

/** Rounds an RTT to microseconds: more digits only make the stored JSON longer. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Null when there is no sample. */
export function rttStats(samples: readonly number[]): RttStats | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  let sum = 0;
  let squares = 0;
  for (const x of sorted) {
    sum += x;
    squares += x * x;
  }
  const avg = sum / sorted.length;
  return {
    min: sorted[0]!,
    avg,
    max: sorted[sorted.length - 1]!,
    p50: quantile(sorted, 0.5)!,
    p95: quantile(sorted, 0.95)!,
    mdev: Math.sqrt(Math.max(0, squares / sorted.length - avg * avg)),
  };
}
