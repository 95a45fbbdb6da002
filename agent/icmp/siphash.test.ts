import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sipHash24, sipKey } from './siphash.ts';

const MASK = (1n << 64n) - 1n;
const rotl = (x: bigint, n: bigint) => ((x << n) | (x >> (64n - n))) & MASK;
const le64 = (bytes: Uint8Array, at: number) => {
  let x = 0n;
  for (let i = 7; i >= 0; i--) x = (x << 8n) | BigInt(bytes[at + i]!);
  return x;
};

/** The algorithm as the paper states it, on BigInts: slow and plain, to check the fast one. */
function reference(keyBytes: Uint8Array, message: Uint8Array): bigint {
  const k0 = le64(keyBytes, 0);
  const k1 = le64(keyBytes, 8);
  const v = [
    k0 ^ 0x736f6d6570736575n,
    k1 ^ 0x646f72616e646f6dn,
    k0 ^ 0x6c7967656e657261n,
    k1 ^ 0x7465646279746573n,
  ];
  const round = () => {
    v[0] = (v[0]! + v[1]!) & MASK;
    v[1] = rotl(v[1]!, 13n) ^ v[0];
    v[0] = rotl(v[0], 32n);
    v[2] = (v[2]! + v[3]!) & MASK;
    v[3] = rotl(v[3]!, 16n) ^ v[2];
    v[0] = (v[0] + v[3]) & MASK;
    v[3] = rotl(v[3], 21n) ^ v[0];
    v[2] = (v[2] + v[1]) & MASK;
    v[1] = rotl(v[1], 17n) ^ v[2];
    v[2] = rotl(v[2], 32n);
  };
  const padded = new Uint8Array((Math.floor(message.length / 8) + 1) * 8);
  padded.set(message);
  padded[padded.length - 1] = message.length & 0xff;
  for (let at = 0; at < padded.length; at += 8) {
    const m = le64(padded, at);
    v[3]! ^= m;
    round();
    round();
    v[0]! ^= m;
  }
  v[2]! ^= 0xffn;
  for (let r = 0; r < 4; r++) round();
  return v[0]! ^ v[1]! ^ v[2]! ^ v[3]!;
}

function fast(keyBytes: Uint8Array, message: Uint8Array): bigint {
  const out = new Uint32Array(2);
  sipHash24(sipKey(keyBytes), message, 0, message.length, out, 0);
  return (BigInt(out[1]!) << 32n) | BigInt(out[0]!);
}

const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => i);

describe('sipHash24', () => {
  it('gives the published test vectors (key 00..0f, message 00..n-1)', () => {
    // From the reference implementation's vectors.h, as little-endian 64-bit values.
    const vectors: [number, bigint][] = [
      [0, 0x726fdb47dd0e0e31n],
      [1, 0x74f839c593dc67fdn],
      [7, 0xab0200f58b01d137n],
      [8, 0x93f5f5799a932462n],
      [15, 0xa129ca6149be45e5n],
    ];
    for (const [n, want] of vectors) expect(fast(bytes(16), bytes(n)), `length ${n}`).toBe(want);
  });

  it('matches a plain BigInt implementation for any key and message', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ maxLength: 64 }),
        (key, message) => {
          expect(fast(key, message)).toBe(reference(key, message));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('hashes a slice in place and writes where it is told', () => {
    const key = sipKey(bytes(16));
    const data = new Uint8Array(40);
    data.set(bytes(15), 9);
    const out = new Uint32Array(6);
    sipHash24(key, data, 9, 24, out, 3);
    expect([out[3], out[4]]).toEqual([0x49be45e5, 0xa129ca61]);
    expect([out[0], out[1], out[2], out[5]]).toEqual([0, 0, 0, 0]);
  });
});
