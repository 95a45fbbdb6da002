import { base64ToBytes, bytesToBase64 } from './base64.ts';
import { fnv1a32 } from './fnv1a.ts';
import type { HistoryPoint } from './schema.ts';

// History packed for Redis: a block is a run of fixed-width points (one per minute, or one per
// hour of a day), stored as one base64 string in a ring of slot keys per (agent, IP). A JSON member
// per minute cost ~240 bytes in Redis; a packed point costs ~13, so 24 h of minutes plus 30 days
// of hours fit in well under 64 KB. A block carries its start time, so a slot left over from an
// earlier turn of the ring is recognised and skipped, and no expiry is needed.
//
// Layout: version (1 byte), start (u32, Unix seconds), count width in bits (1 byte), then for each
// point: sent and received (count width each) and min, p10, p25, median, p75, p90, max as 12-bit
// log-scale codes (0 = no reply). A point with nothing sent is absent. The count width is the
// narrowest that holds the block's largest count, so a block of 6 probes a minute spends 3 bits.

const VERSION = 1;
const HEADER_BYTES = 6;
const CODE_BITS = 12;
const QUANTILES = ['min', 'p10', 'p25', 'median', 'p75', 'p90', 'max'] as const;
/** Codes 1..4095 span 0.001 ms to 100 s: each step is ×1.0045, so a code is within ±0.23 %. */
const CODE_FLOOR_MS = 0.001;
const CODE_STEP = Math.log(100_000 / CODE_FLOOR_MS) / ((1 << CODE_BITS) - 2);
const MAX_COUNT_BITS = 24;

export interface BlockShape {
  /** Seconds one point covers. */
  pointSeconds: number;
  /** Points per block. */
  points: number;
  /** Slots in the ring: enough blocks to cover the retention plus the one being filled. */
  slots: number;
}

/** 20 minutes per block, 73 slots: 24 h and the block in progress. */
export const MINUTE_BLOCKS: BlockShape = { pointSeconds: 60, points: 20, slots: 73 };
/** A day per block, 31 slots: 30 days and today. */
export const HOUR_BLOCKS: BlockShape = { pointSeconds: 3600, points: 24, slots: 31 };

export function blockSeconds(shape: BlockShape): number {
  return shape.pointSeconds * shape.points;
}

/**
 * Where an IP's minute blocks start inside the 20 minutes: a fixed offset from its name, so the
 * blocks of a thousand IPs complete spread over the 20 minutes instead of all in one run.
 */
export function blockPhase(shape: BlockShape, ip: string): number {
  if (shape !== MINUTE_BLOCKS) return 0;
  return (fnv1a32(ip) % shape.points) * shape.pointSeconds;
}

/** Start of the block holding time `t` for this IP. */
export function blockStartOf(shape: BlockShape, ip: string, t: number): number {
  const span = blockSeconds(shape);
  const phase = blockPhase(shape, ip);
  return Math.floor((t - phase) / span) * span + phase;
}

export function slotOf(shape: BlockShape, ip: string, start: number): number {
  return Math.floor((start - blockPhase(shape, ip)) / blockSeconds(shape)) % shape.slots;
}

/** Starts of the blocks that may hold points in [fromSec, toSec], oldest first (at most one ring). */
export function blockStartsIn(shape: BlockShape, ip: string, fromSec: number, toSec: number): number[] {
  const span = blockSeconds(shape);
  const out: number[] = [];
  for (let s = blockStartOf(shape, ip, toSec); s + span > fromSec && out.length < shape.slots; s -= span)
    out.unshift(s);
  return out;
}

export function encodeCode(ms: number | null): number {
  if (ms === null) return 0;
  if (ms <= CODE_FLOOR_MS) return 1;
  return Math.min((1 << CODE_BITS) - 1, 1 + Math.round(Math.log(ms / CODE_FLOOR_MS) / CODE_STEP));
}

export function decodeCode(code: number): number | null {
  if (code === 0) return null;
  return Math.round(CODE_FLOOR_MS * Math.exp((code - 1) * CODE_STEP) * 1000) / 1000;
}

/** Bytes of a block: the header, then per point two counts and a code per quantile. */
function blockBytes(shape: BlockShape, countBits: number): number {
  return HEADER_BYTES + Math.ceil((shape.points * (2 * countBits + QUANTILES.length * CODE_BITS)) / 8);
}

/** Packs the points (each at its own offset from `start`; others absent) into a block value. */
export function encodeBlock(shape: BlockShape, start: number, points: readonly HistoryPoint[]): string {
  const slots: (HistoryPoint | undefined)[] = new Array(shape.points);
  let largest = 0;
  for (const p of points) {
    const i = Math.round((p.t - start) / shape.pointSeconds);
    if (i < 0 || i >= shape.points) throw new RangeError(`point ${p.t} is outside the block at ${start}`);
    slots[i] = p;
    largest = Math.max(largest, p.sent, p.received);
  }
  const maxCount = 2 ** MAX_COUNT_BITS - 1;
  const countBits = Math.max(1, Math.min(MAX_COUNT_BITS, Math.ceil(Math.log2(largest + 1))));
  const bits = new BitWriter(blockBytes(shape, countBits));
  bits.bytes[0] = VERSION;
  new DataView(bits.bytes.buffer).setUint32(1, start);
  bits.bytes[5] = countBits;
  bits.offset = HEADER_BYTES * 8;
  for (const p of slots) {
    bits.write(Math.min(maxCount, p?.sent ?? 0), countBits);
    bits.write(Math.min(maxCount, p?.received ?? 0), countBits);
    for (const q of QUANTILES) bits.write(p ? encodeCode(p[q]) : 0, CODE_BITS);
  }
  return bytesToBase64(bits.bytes);
}

/** The points of a block value, oldest first; null when it is not a block of this shape. */
export function decodeBlock(
  shape: BlockShape,
  value: string,
): { start: number; points: HistoryPoint[] } | null {
  const bytes = fromBase64(value);
  if (!bytes || bytes.length < HEADER_BYTES || bytes[0] !== VERSION) return null;
  const start = new DataView(bytes.buffer, bytes.byteOffset).getUint32(1);
  const countBits = bytes[5]!;
  if (countBits < 1 || countBits > MAX_COUNT_BITS) return null;
  if (bytes.length < blockBytes(shape, countBits)) return null;
  const bits = new BitReader(bytes, HEADER_BYTES * 8);
  const points: HistoryPoint[] = [];
  for (let i = 0; i < shape.points; i++) {
    const sent = bits.read(countBits);
    const received = bits.read(countBits);
    const codes = QUANTILES.map(() => bits.read(CODE_BITS));
    if (sent === 0 && received === 0) continue;
    const [min, p10, p25, median, p75, p90, max] = codes.map(decodeCode) as (number | null)[];
    points.push({
      t: start + i * shape.pointSeconds,
      sent,
      received,
      min: min!,
      p10: p10!,
      p25: p25!,
      median: median!,
      p75: p75!,
      p90: p90!,
      max: max!,
    });
  }
  return { start, points };
}

function fromBase64(value: string): Uint8Array | null {
  try {
    return base64ToBytes(value);
  } catch {
    return null;
  }
}

/** Values are below 2^24 (counts are capped at MAX_COUNT_BITS, codes have CODE_BITS), so shifts are exact. */
class BitWriter {
  readonly bytes: Uint8Array;
  offset = 0;
  constructor(length: number) {
    this.bytes = new Uint8Array(length);
  }
  write(value: number, width: number): void {
    for (let b = width - 1; b >= 0; b--) {
      if ((value >>> b) & 1) this.bytes[this.offset >> 3]! |= 0x80 >> (this.offset & 7);
      this.offset++;
    }
  }
}

class BitReader {
  constructor(
    private readonly bytes: Uint8Array,
    private offset: number,
  ) {}
  read(width: number): number {
    let value = 0;
    for (let b = 0; b < width; b++) {
      const bit = (this.bytes[this.offset >> 3]! >> (7 - (this.offset & 7))) & 1;
      value = value * 2 + bit;
      this.offset++;
    }
    return value;
  }
}
