import { formatIp } from '../../shared/ip.ts';
import { checksum, finishChecksum, onesSum } from './checksum.ts';

// A pure ICMP/ICMPv6 codec. Linux hands IPv4 raw sockets the whole datagram (IP header first) and
// IPv6 raw sockets only the ICMPv6 message, so the parser takes the family and finds the ICMP
// message itself. It never throws: anything short, malformed or foreign parses to null.

export type Family = 4 | 6;

export const ICMP4 = { echoReply: 0, unreachable: 3, echoRequest: 8, timeExceeded: 11 } as const;
export const ICMP6 = { unreachable: 1, timeExceeded: 3, echoRequest: 128, echoReply: 129 } as const;

const IPPROTO_ICMP = 1;
const IPPROTO_ICMPV6 = 58;

export type PacketKind = 'echo-request' | 'echo-reply' | 'unreachable' | 'time-exceeded';

export interface ParsedPacket {
  kind: PacketKind;
  type: number;
  code: number;
  /** Echo: this message's identifier and sequence. Errors: those of the request they answer. */
  id: number;
  seq: number;
  /** Echo only: where the payload sits in the buffer. */
  payloadOffset: number;
  payloadLength: number;
  /** IPv4: whether the ICMP checksum validates. IPv6: null (the kernel verifies ICMPv6 sums). */
  checksumOk: boolean | null;
  /** IPv4 header fields of the received datagram; null for IPv6 (not delivered to raw sockets). */
  ttl: number | null;
  /** Offset of the received IPv4 header, -1 when there is none. */
  ipOffset: number;
  /** Errors only: offset of the destination address of the request they answer, -1 otherwise. */
  originalDstOffset: number;
}

/** IPv4 dotted quad of the 4 bytes at `offset`. */
export function readIpv4(buf: Uint8Array, offset: number): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

/** The 16 bytes of an IPv6 address at `offset`, in the canonical text every key uses. */
export function readIpv6(buf: Uint8Array, offset: number): string {
  return formatIp({ family: 6, bytes: buf.subarray(offset, offset + 16) });
}

/**
 * Parses what a raw socket of `family` received in `buf[0, length)`. Returns null for anything that
 * is not a well-formed echo request, echo reply, or an unreachable/time-exceeded error quoting an
 * echo request.
 */
export function parsePacket(buf: Uint8Array, length: number, family: Family): ParsedPacket | null {
  const end = Math.min(length, buf.length);
  let at = 0;
  let ttl: number | null = null;
  let ipOffset = -1;
  if (family === 4) {
    if (end < 20 || buf[0]! >> 4 !== 4) return null;
    const ihl = (buf[0]! & 0x0f) * 4;
    if (ihl < 20 || end < ihl + 8 || buf[9] !== IPPROTO_ICMP) return null;
    ttl = buf[8]!;
    ipOffset = 0;
    at = ihl;
  } else if (end < 8) {
    return null;
  }
  const type = buf[at]!;
  const code = buf[at + 1]!;
  const checksumOk = family === 4 ? checksum(buf, at, end) === 0 : null;
  const base = { type, code, checksumOk, ttl, ipOffset };
  const echo = family === 4 ? ICMP4 : ICMP6;
  if (type === echo.echoReply || type === echo.echoRequest) {
    return {
      ...base,
      kind: type === echo.echoReply ? 'echo-reply' : 'echo-request',
      id: (buf[at + 4]! << 8) | buf[at + 5]!,
      seq: (buf[at + 6]! << 8) | buf[at + 7]!,
      payloadOffset: at + 8,
      payloadLength: end - at - 8,
      originalDstOffset: -1,
    };
  }
  const kind: PacketKind | null =
    type === echo.unreachable ? 'unreachable' : type === echo.timeExceeded ? 'time-exceeded' : null;
  if (!kind) return null;
  const inner = at + 8;
  let innerIcmp: number;
  let dstOffset: number;
  if (family === 4) {
    if (end < inner + 20 || buf[inner]! >> 4 !== 4) return null;
    const ihl = (buf[inner]! & 0x0f) * 4;
    if (ihl < 20 || buf[inner + 9] !== IPPROTO_ICMP) return null;
    innerIcmp = inner + ihl;
    dstOffset = inner + 16;
  } else {
    if (end < inner + 40 || buf[inner]! >> 4 !== 6 || buf[inner + 6] !== IPPROTO_ICMPV6) return null;
    innerIcmp = inner + 40;
    dstOffset = inner + 24;
  }
  // The quoted request must carry at least its echo header (RFC 792 quotes 8 bytes of it).
  if (end < innerIcmp + 8 || buf[innerIcmp] !== echo.echoRequest) return null;
  return {
    ...base,
    kind,
    id: (buf[innerIcmp + 4]! << 8) | buf[innerIcmp + 5]!,
    seq: (buf[innerIcmp + 6]! << 8) | buf[innerIcmp + 7]!,
    payloadOffset: -1,
    payloadLength: 0,
    originalDstOffset: dstOffset,
  };
}

/**
 * The hot path for the one packet kind that arrives by the thousand: when `buf` holds a
 * well-formed echo reply (with a valid checksum for IPv4), returns the offset of its ICMP message,
 * else -1. Allocates nothing; anything else goes through parsePacket.
 */
export function echoReplyOffset(buf: Uint8Array, length: number, family: Family): number {
  const end = Math.min(length, buf.length);
  if (family === 6) return end >= 8 && buf[0] === ICMP6.echoReply ? 0 : -1;
  if (end < 28 || buf[0]! >> 4 !== 4 || buf[9] !== IPPROTO_ICMP) return -1;
  const at = (buf[0]! & 0x0f) * 4;
  if (at < 20 || end < at + 8 || buf[at] !== ICMP4.echoReply) return -1;
  return checksum(buf, at, end) === 0 ? at : -1;
}

export interface EchoFields {
  family: Family;
  reply: boolean;
  id: number;
  seq: number;
  payload: Uint8Array;
}

/**
 * Writes an echo request or reply (ICMP message only, no IP header) into `out` at `offset` and
 * returns its length. IPv4 gets its checksum here; for ICMPv6 the kernel fills it in on send.
 */
export function encodeEcho(fields: EchoFields, out: Uint8Array, offset = 0): number {
  const end = offset + 8 + fields.payload.length;
  out.set(fields.payload, offset + 8);
  writeEchoHeader(out, offset, end, fields.family, fields.reply, fields.id, fields.seq);
  return end - offset;
}

/**
 * Writes the 8-byte header of an echo message whose payload is already in `out[offset + 8, end)`,
 * with its checksum for IPv4: what encodeEcho does, without a payload array, for the engine's
 * one send buffer. A sender whose payload ends in bytes that never change passes their ones' sum
 * (checksum.ts's onesSum over `out[sumFrom, end)`, `sumFrom - offset` even) as `knownSum`,
 * and only the bytes before `sumFrom` are summed per packet. Plain byte stores: Buffer's write methods box their
 * arguments, garbage at 100k packets a second.
 */
export function writeEchoHeader(
  out: Uint8Array,
  offset: number,
  end: number,
  family: Family,
  reply: boolean,
  id: number,
  seq: number,
  sumFrom = end,
  knownSum = 0,
): void {
  if (family === 4) out[offset] = reply ? ICMP4.echoReply : ICMP4.echoRequest;
  else out[offset] = reply ? ICMP6.echoReply : ICMP6.echoRequest;
  out[offset + 1] = 0;
  out[offset + 2] = 0;
  out[offset + 3] = 0;
  out[offset + 4] = (id >> 8) & 0xff;
  out[offset + 5] = id & 0xff;
  out[offset + 6] = (seq >> 8) & 0xff;
  out[offset + 7] = seq & 0xff;
  if (family === 4) {
    const sum = finishChecksum(onesSum(out, offset, Math.min(sumFrom, end), knownSum));
    out[offset + 2] = sum >> 8;
    out[offset + 3] = sum & 0xff;
  }
}

/** Rewrites the IPv4 checksum of an ICMP message in place (after its fields were changed). */
export function fixIcmp4Checksum(buf: Uint8Array, start: number, end: number): void {
  buf[start + 2] = 0;
  buf[start + 3] = 0;
  const sum = checksum(buf, start, end);
  buf[start + 2] = sum >> 8;
  buf[start + 3] = sum & 0xff;
}
