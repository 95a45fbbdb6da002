// The Internet checksum (RFC 1071): ones' complement of the ones' complement sum of 16-bit words.

/** The 32-bit running sum of bytes [start, end), before folding; odd lengths pad with a zero byte. */
export function onesSum(buf: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) sum += buf[i]! << 8;
  return sum;
}

/** Folds a running sum to 16 bits and complements it: the value written into a checksum field. */
export function finishChecksum(sum: number): number {
  let s = sum;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

export function checksum(buf: Uint8Array, start: number, end: number): number {
  return finishChecksum(onesSum(buf, start, end));
}
