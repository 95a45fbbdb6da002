import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checksum, onesSum } from './checksum.ts';
import { encodeEcho, ICMP4, ICMP6, parsePacket, readIpv6, writeEchoHeader } from './codec.ts';

/** An IPv4 header (20 bytes) in front of an ICMP message, as a raw IPv4 socket delivers it. */
function withIpv4Header(icmp: Uint8Array, ttl = 61): Uint8Array {
  const out = new Uint8Array(20 + icmp.length);
  out[0] = 0x45;
  out[8] = ttl;
  out[9] = 1;
  out.set([198, 18, 1, 130], 12);
  out.set([198, 18, 1, 1], 16);
  out.set(icmp, 20);
  return out;
}

describe('codec', () => {
  it('never throws on arbitrary or truncated bytes, for either family', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.nat(220),
        fc.constantFrom(4 as const, 6 as const),
        (bytes, cut, family) => {
          const result = parsePacket(bytes, Math.min(cut, bytes.length), family);
          expect(result === null || typeof result.kind === 'string').toBe(true);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('never throws on every truncation of a valid reply or error', () => {
    const reply = new Uint8Array(64);
    const len = encodeEcho({ family: 4, reply: true, id: 7, seq: 9, payload: new Uint8Array(32) }, reply);
    const packet = withIpv4Header(reply.subarray(0, len));
    for (let cut = 0; cut <= packet.length; cut++) {
      const parsed = parsePacket(packet, cut, 4);
      if (cut < 28) expect(parsed).toBeNull();
    }
  });

  it('round-trips echo requests and replies, and their checksum validates', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.uint8Array({ minLength: 0, maxLength: 300 }),
        (reply, id, seq, payload) => {
          const out = new Uint8Array(8 + payload.length);
          const len = encodeEcho({ family: 4, reply, id, seq, payload }, out);
          expect(len).toBe(out.length);
          expect(checksum(out, 0, len)).toBe(0);
          const parsed = parsePacket(withIpv4Header(out), 20 + len, 4)!;
          expect(parsed).toMatchObject({ kind: reply ? 'echo-reply' : 'echo-request', id, seq, ttl: 61 });
          expect(parsed.checksumOk).toBe(true);
          expect(parsed.payloadLength).toBe(payload.length);
          const six = new Uint8Array(8 + payload.length);
          encodeEcho({ family: 6, reply, id, seq, payload }, six);
          expect(parsePacket(six, six.length, 6)).toMatchObject({ id, seq, ttl: null, checksumOk: null });
        },
      ),
    );
  });

  it("writes the engine's packets (header in front of a payload in place, the tail's sum known) as encodeEcho does", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(4 as const, 6 as const),
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.uint8Array({ minLength: 16, maxLength: 300 }),
        fc.nat(8),
        (family, id, seq, payload, split) => {
          const want = new Uint8Array(8 + payload.length);
          encodeEcho({ family, reply: false, id, seq, payload }, want);
          // At an offset in a larger buffer with stale bytes in front, as the engine reuses one.
          const out = new Uint8Array(4 + want.length).fill(0xaa);
          out.set(payload, 12);
          const sumFrom = 4 + Math.min(8 + 2 * split, want.length);
          const known = onesSum(out, sumFrom, out.length);
          writeEchoHeader(out, 4, out.length, family, false, id, seq, sumFrom, known);
          expect(out.subarray(4)).toEqual(want);
          expect(out[4]).toBe(family === 4 ? ICMP4.echoRequest : ICMP6.echoRequest);
          if (family === 4) expect(checksum(out, 4, out.length)).toBe(0);
        },
      ),
    );
  });

  it('flags a corrupted checksum', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 8, maxLength: 64 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (payload, at, flip) => {
          const out = new Uint8Array(8 + payload.length);
          encodeEcho({ family: 4, reply: true, id: 1, seq: 2, payload }, out);
          out[at % out.length]! ^= flip;
          const parsed = parsePacket(withIpv4Header(out), 20 + out.length, 4);
          if (parsed) expect(parsed.checksumOk).toBe(false);
        },
      ),
    );
  });

  it('reads the request an unreachable error quotes', () => {
    const request = new Uint8Array(16);
    encodeEcho({ family: 4, reply: false, id: 0xbeef, seq: 42, payload: new Uint8Array(8) }, request);
    const quoted = withIpv4Header(request.subarray(0, 16));
    const error = new Uint8Array(8 + quoted.length);
    error[0] = ICMP4.unreachable;
    error[1] = 1;
    error.set(quoted, 8);
    const parsed = parsePacket(withIpv4Header(error), 20 + error.length, 4)!;
    expect(parsed).toMatchObject({ kind: 'unreachable', code: 1, id: 0xbeef, seq: 42 });
    expect(parsed.originalDstOffset).toBe(20 + 8 + 16);
  });

  it('writes IPv6 addresses in RFC 5952 form', () => {
    const bytes = new Uint8Array(16);
    bytes.set([0xfd, 0x00, 0x01, 0xab, 0x00, 0x05, 0x00, 0x01], 0);
    bytes[15] = 0x0a;
    expect(readIpv6(bytes, 0)).toBe('fd00:1ab:5:1::a');
    expect(readIpv6(new Uint8Array(16), 0)).toBe('::');
  });
});
