// SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed hash built for short messages, used here
// as the MAC that makes every probe's payload unguessable. HMAC-SHA256 through node:crypto
// allocates an object and a digest per call, which at 100k probes a second is a steady stream of
// garbage; this runs on 32-bit halves in local variables and allocates nothing.

/** A random 128-bit key as four u32 words: k0 = key[1]:key[0], k1 = key[3]:key[2]. */
export type SipKey = Uint32Array;

/** Reads the 128-bit key from 16 bytes, little-endian as the reference implementation does. */
export function sipKey(bytes: Uint8Array): SipKey {
  if (bytes.length !== 16) throw new RangeError('a SipHash key is 16 bytes');
  const key = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    key[i] =
      (bytes[4 * i]! | (bytes[4 * i + 1]! << 8) | (bytes[4 * i + 2]! << 16) | (bytes[4 * i + 3]! << 24)) >>>
      0;
  }
  return key;
}

/**
 * SipHash-2-4 of `data[start, end)` under `key`. Writes the 64-bit result as two u32 words, low
 * then high, to `out[at]` and `out[at + 1]` (its little-endian bytes are the reference output).
 */
export function sipHash24(
  key: SipKey,
  data: Uint8Array,
  start: number,
  end: number,
  out: Uint32Array,
  at: number,
): void {
  const k0l = key[0]!;
  const k0h = key[1]!;
  const k1l = key[2]!;
  const k1h = key[3]!;
  // The initial state: the key xored with "somepseudorandomlygeneratedbytes".
  let v0l = (k0l ^ 0x70736575) >>> 0;
  let v0h = (k0h ^ 0x736f6d65) >>> 0;
  let v1l = (k1l ^ 0x6e646f6d) >>> 0;
  let v1h = (k1h ^ 0x646f7261) >>> 0;
  let v2l = (k0l ^ 0x6e657261) >>> 0;
  let v2h = (k0h ^ 0x6c796765) >>> 0;
  let v3l = (k1l ^ 0x79746573) >>> 0;
  let v3h = (k1h ^ 0x74656462) >>> 0;
  const length = end - start;
  const blocks = length >>> 3;
  let i = start;
  let ml = 0;
  let mh = 0;
  let t = 0;
  // One loop for both phases, so the round is written once: blocks 0..blocks-1 are full words,
  // block `blocks` is the tail with the length in its top byte (2 rounds each), then the
  // finalization (4 rounds).
  for (let b = 0; ; b++) {
    let rounds = 2;
    if (b < blocks) {
      ml = (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24)) >>> 0;
      mh = (data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24)) >>> 0;
      i += 8;
    } else if (b === blocks) {
      ml = 0;
      mh = (length & 0xff) << 24;
      for (let j = 0; i + j < end; j++) {
        if (j < 4) ml |= data[i + j]! << (8 * j);
        else mh |= data[i + j]! << (8 * (j - 4));
      }
      ml >>>= 0;
      mh >>>= 0;
    } else {
      v2l = (v2l ^ 0xff) >>> 0;
      rounds = 4;
    }
    if (b <= blocks) {
      v3l = (v3l ^ ml) >>> 0;
      v3h = (v3h ^ mh) >>> 0;
    }
    for (let r = 0; r < rounds; r++) {
      // v0 += v1; v1 <<<= 13; v1 ^= v0; v0 <<<= 32
      t = (v0l + v1l) >>> 0;
      v0h = (v0h + v1h + (t < v0l ? 1 : 0)) >>> 0;
      v0l = t;
      t = ((v1h << 13) | (v1l >>> 19)) >>> 0;
      v1l = ((v1l << 13) | (v1h >>> 19)) >>> 0;
      v1h = t;
      v1l = (v1l ^ v0l) >>> 0;
      v1h = (v1h ^ v0h) >>> 0;
      t = v0l;
      v0l = v0h;
      v0h = t;
      // v2 += v3; v3 <<<= 16; v3 ^= v2
      t = (v2l + v3l) >>> 0;
      v2h = (v2h + v3h + (t < v2l ? 1 : 0)) >>> 0;
      v2l = t;
      t = ((v3h << 16) | (v3l >>> 16)) >>> 0;
      v3l = ((v3l << 16) | (v3h >>> 16)) >>> 0;
      v3h = t;
      v3l = (v3l ^ v2l) >>> 0;
      v3h = (v3h ^ v2h) >>> 0;
      // v0 += v3; v3 <<<= 21; v3 ^= v0
      t = (v0l + v3l) >>> 0;
      v0h = (v0h + v3h + (t < v0l ? 1 : 0)) >>> 0;
      v0l = t;
      t = ((v3h << 21) | (v3l >>> 11)) >>> 0;
      v3l = ((v3l << 21) | (v3h >>> 11)) >>> 0;
      v3h = t;
      v3l = (v3l ^ v0l) >>> 0;
      v3h = (v3h ^ v0h) >>> 0;
      // v2 += v1; v1 <<<= 17; v1 ^= v2; v2 <<<= 32
      t = (v2l + v1l) >>> 0;
      v2h = (v2h + v1h + (t < v2l ? 1 : 0)) >>> 0;
      v2l = t;
      t = ((v1h << 17) | (v1l >>> 15)) >>> 0;
      v1l = ((v1l << 17) | (v1h >>> 15)) >>> 0;
      v1h = t;
      v1l = (v1l ^ v2l) >>> 0;
      v1h = (v1h ^ v2h) >>> 0;
      t = v2l;
      v2l = v2h;
      v2h = t;
    }
    if (b > blocks) break;
    v0l = (v0l ^ ml) >>> 0;
    v0h = (v0h ^ mh) >>> 0;
  }
  out[at] = v0l ^ v1l ^ v2l ^ v3l;
  out[at + 1] = v0h ^ v1h ^ v2h ^ v3h;
}
