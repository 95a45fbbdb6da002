// Summary statistics of round-trip times, as fping and ping report them (mdev is ping's: the
// population standard deviation), plus a median and p95 by linear interpolation.

export interface RttStats {
  min: number;
  avg: number;
  max: number;
  p50: number;
  p95: number;
  mdev: number;
}

function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
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
    p50: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    mdev: Math.sqrt(Math.max(0, squares / sorted.length - avg * avg)),
  };
}
