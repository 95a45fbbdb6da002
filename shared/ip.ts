// IP addresses in canonical text form, without Node's `net` (this module also runs on Workers).
// IPv4: dotted quad, no leading zeros. IPv6: lowercase, RFC 5952 compressed. An IPv4-mapped IPv6
// address (::ffff:a.b.c.d) is the IPv4 host it maps to, so it parses as that IPv4 address: one
// host has exactly one spelling (and so one `ip_{agent}_{ip}` key), and the IPv4 rules apply to it.

export type IpFamily = 4 | 6;

export interface ParsedIp {
  family: IpFamily;
  /** 4 bytes for IPv4, 16 for IPv6. */
  bytes: Uint8Array;
}

function parseIpv4Bytes(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    // Leading zeros are refused rather than guessed: `010` is octal to some tools, decimal to others.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes[i] = value;
  }
  return bytes;
}

function parseIpv6Bytes(text: string): Uint8Array | null {
  if (text.length > 45 || !/^[0-9A-Fa-f:.]+$/.test(text)) return null;
  let head = text;
  let tailV4: Uint8Array | null = null;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    tailV4 = parseIpv4Bytes(text.slice(lastColon + 1));
    if (!tailV4) return null;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const doubleColon = head.indexOf('::');
  if (doubleColon !== head.lastIndexOf('::')) return null;
  const parseGroups = (s: string): number[] | null => {
    if (s === '') return [];
    const groups = s.split(':');
    const out: number[] = [];
    for (const g of groups) {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return null;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (doubleColon >= 0) {
    const left = parseGroups(head.slice(0, doubleColon));
    const right = parseGroups(head.slice(doubleColon + 2));
    if (!left || !right || left.length + right.length > 7) return null;
    groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  } else {
    const all = parseGroups(head);
    if (all?.length !== 8) return null;
    groups = all;
  }
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[i * 2] = g >> 8;
    bytes[i * 2 + 1] = g & 0xff;
  });
  if (tailV4) bytes.set(tailV4, 12);
  return bytes;
}

/** ::ffff:0:0/96 (RFC 4291 2.5.5.2): an IPv4 address written as IPv6. */
function isIpv4Mapped(bytes: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

export function parseIp(text: string): ParsedIp | null {
  if (text.includes(':')) {
    const bytes = parseIpv6Bytes(text);
    if (!bytes) return null;
    return isIpv4Mapped(bytes) ? { family: 4, bytes: bytes.slice(12) } : { family: 6, bytes };
  }
  const bytes = parseIpv4Bytes(text);
  return bytes ? { family: 4, bytes } : null;
}

export function formatIp(ip: ParsedIp): string {
  if (ip.family === 4) return Array.from(ip.bytes).join('.');
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((ip.bytes[i * 2]! << 8) | ip.bytes[i * 2 + 1]!);
  // RFC 5952: compress the longest run of two or more zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const left = hex.slice(0, bestStart).join(':');
  const right = hex.slice(bestStart + bestLength).join(':');
  return `${left}::${right}`;
}

/** The canonical spelling of an address, or null when the text is not an IP address. */
export function canonicalIp(text: string): string | null {
  const parsed = parseIp(text.trim());
  return parsed ? formatIp(parsed) : null;
}

/** 127.0.0.0/8 or ::1. */
export function isLoopback(ip: ParsedIp): boolean {
  if (ip.family === 4) return ip.bytes[0] === 127;
  return ip.bytes.subarray(0, 15).every((b) => b === 0) && ip.bytes[15] === 1;
}

export type AddressProblem =
  | 'unspecified'
  | 'broadcast'
  | 'multicast'
  | 'reserved'
  | 'loopback'
  | 'ipv4-compatible'
  | 'link-local';

/**
 * Why an address cannot be a ping target, or null when it can. Loopback is allowed: an agent
 * checking its own stack is legitimate, and the project's tests rely on it. IPv6 link-local
 * addresses are refused: they need a zone (the interface, `fe80::1%eth0`) that only one host
 * can name, and a group is shared by every agent. IPv4-compatible IPv6 addresses (`::1.2.3.4`)
 * were deprecated by RFC 4291 and no stack routes them.
 */
export function targetProblem(ip: ParsedIp): Exclude<AddressProblem, 'loopback'> | null {
  const b = ip.bytes;
  if (ip.family === 4) {
    if (b.every((x) => x === 0)) return 'unspecified';
    if (b.every((x) => x === 255)) return 'broadcast';
    if (b[0]! >= 224 && b[0]! <= 239) return 'multicast';
    if (b[0]! >= 240) return 'reserved';
    if (b[0] === 0) return 'reserved';
    return null;
  }
  if (b.every((x) => x === 0)) return 'unspecified';
  if (b[0] === 0xff) return 'multicast';
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return 'link-local';
  // ::/96 but for :: (above) and ::1 (loopback).
  if (b.subarray(0, 12).every((x) => x === 0) && !isLoopback(ip)) {
    return 'ipv4-compatible';
  }
  return null;
}

export interface CidrBlock {
  network: ParsedIp;
  prefix: number;
}

export function parseCidr(text: string): CidrBlock | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const address = text.slice(0, slash).trim();
  const network = parseIp(address);
  const prefixText = text.slice(slash + 1).trim();
  if (!network || !/^[0-9]{1,3}$/.test(prefixText)) return null;
  let prefix = Number(prefixText);
  // An IPv4-mapped block (::ffff:10.0.0.0/120) is the IPv4 block it maps: its prefix counts
  // from the 96 bits in front of the IPv4 address.
  if (network.family === 4 && address.includes(':')) {
    if (prefix < 96) return null;
    prefix -= 96;
  }
  if (prefix > (network.family === 4 ? 32 : 128)) return null;
  return { network, prefix };
}

/** Addresses of a block in order. For IPv4 blocks larger than /31 the network and broadcast
 * addresses are left out, since neither answers as a host. */
export function* expandCidr(block: CidrBlock): Generator<string> {
  const { network, prefix } = block;
  const totalBits = network.bytes.length * 8;
  const hostBits = totalBits - prefix;
  if (hostBits > 32) throw new RangeError(`a /${prefix} block is too large to expand`);
  const size = 2 ** hostBits;
  const base = network.bytes.slice();
  // Clear the host bits so `10.0.0.5/24` means 10.0.0.0/24.
  for (let bit = prefix; bit < totalBits; bit++) base[bit >> 3]! &= ~(0x80 >> (bit & 7));
  const skipEnds = network.family === 4 && hostBits >= 2;
  for (let offset = skipEnds ? 1 : 0; offset < (skipEnds ? size - 1 : size); offset++) {
    const bytes = base.slice();
    let carry = offset;
    for (let i = bytes.length - 1; i >= 0 && carry > 0; i--) {
      const sum = bytes[i]! + (carry & 0xff);
      bytes[i] = sum & 0xff;
      carry = Math.floor(carry / 256) + (sum >> 8);
    }
    yield formatIp({ family: network.family, bytes });
  }
}
