/** The q-quantile (0..1) of ascending values, linearly interpolated; null for none. */
export function quantile(sorted: readonly number[], q: number): number | null {
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
