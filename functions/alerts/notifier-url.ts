import { parseIp } from '../../shared/ip.ts';

// Where a notifier may point. The Worker makes these requests on the operator's behalf every
// minute, so a URL naming this host or the private network behind it is refused (it would let
// whoever can write rules probe that network), and so is plain http, which would carry the
// notification and, for Slack, its token in clear. A local stack (ALERT_ALLOW_LOCAL=true, set by
// `ping-agent dev`) sends to receivers on the developer's own machine, so it allows both.

export const MAX_URL_LENGTH = 2_048;

/** Why the URL cannot be a notifier's, or null when it can. */
export function notifierUrlProblem(text: string, allowLocal: boolean): string | null {
  if (text.length > MAX_URL_LENGTH) return `is longer than ${MAX_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'https:' && !(allowLocal && url.protocol === 'http:')) {
    return allowLocal ? 'must be http(s)' : 'must be https (http is only for local development)';
  }
  if (url.username || url.password) return 'must not hold a user name or password';
  if (allowLocal) return null;
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  const literal = host.startsWith('[') ? host.slice(1, -1) : host;
  const ip = parseIp(literal);
  if (ip) {
    const kind = privateKind(ip.bytes);
    return kind ? `names a ${kind} address; notifiers must be reachable on the public internet` : null;
  }
  // WHATWG URL turns every other numeric form (0x7f.1, 2130706433) into a dotted quad, so what is
  // left is a name.
  if (!host.includes('.')) return `names the host "${host}", which is not a public DNS name`;
  if (/(^|\.)(localhost|local|internal|lan|home\.arpa|localdomain)$/.test(host)) {
    return `names the host "${host}", which is a local name`;
  }
  return null;
}

/** The kind of non-public range the address is in, or null for a public address. */
function privateKind(b: Uint8Array): string | null {
  if (b.length === 4) {
    const [a, x] = [b[0]!, b[1]!];
    if (a === 127) return 'loopback';
    if (a === 0) return 'unspecified';
    if (a === 10 || (a === 172 && x >= 16 && x < 32) || (a === 192 && x === 168)) return 'private';
    if (a === 100 && x >= 64 && x < 128) return 'shared (carrier-grade NAT)';
    if (a === 169 && x === 254) return 'link-local';
    if (a === 198 && (x === 18 || x === 19)) return 'benchmarking';
    if (a === 192 && x === 0 && b[2] === 0) return 'reserved';
    if (a >= 224) return 'multicast or reserved';
    return null;
  }
  const zeroUpTo = (n: number) => b.slice(0, n).every((v) => v === 0);
  if (zeroUpTo(15) && b[15] === 1) return 'loopback';
  if (zeroUpTo(16)) return 'unspecified';
  if ((b[0]! & 0xfe) === 0xfc) return 'private (unique local)';
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return 'link-local';
  if (b[0] === 0xff) return 'multicast';
  // NAT64 (64:ff9b::/96) and IPv4-compatible addresses carry an IPv4 address: judge that one.
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b) return privateKind(b.slice(12));
  if (zeroUpTo(12)) return privateKind(b.slice(12));
  return null;
}

/** The URL as a log may show it: scheme and host only, since paths carry tokens (Slack's do). */
export function urlTarget(text: string): string {
  try {
    const url = new URL(text);
    return `${url.protocol}//${url.host}`;
  } catch {
    return '(not a URL)';
  }
}
