import {
  type AddressProblem,
  canonicalIp,
  expandCidr,
  formatIp,
  type ParsedIp,
  parseCidr,
  parseIp,
  targetProblem,
} from '../shared/ip.ts';
import { apiError } from './errors.ts';

// Turning what a client sends into the members of a group: every address in its one canonical
// spelling, CIDR blocks expanded, addresses no host answers from refused by name, duplicates folded.

/** Most IPs one group may hold. */
export const MAX_GROUP_IPS = 65_536;
/** Largest block expanded: a /22 (1,022 hosts) for IPv4, the same 1,024 addresses (/118) for IPv6. */
export const MAX_CIDR_ADDRESSES = 1_024;
/** Problems listed in one error; the rest are counted. */
const MAX_LISTED_PROBLEMS = 20;

export interface TargetProblem {
  index: number;
  value: string;
  problem: string;
}

/** Canonical, de-duplicated, sorted addresses; a 422 listing every bad entry otherwise. */
export function normaliseTargets(entries: readonly string[], field: string): string[] {
  const out = new Set<string>();
  const problems: TargetProblem[] = [];
  entries.forEach((raw, index) => {
    if (problems.length > MAX_LISTED_PROBLEMS) return;
    const value = raw.trim();
    const problem = addEntry(value, out);
    if (problem) problems.push({ index, value: raw, problem });
    else if (out.size > MAX_GROUP_IPS) throw groupTooLarge(out.size);
  });
  if (problems.length > 0) {
    const first = problems[0]!;
    throw apiError(
      422,
      'invalid_ip',
      `${field}[${first.index}]: ${first.problem}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`,
      { field, problems: problems.slice(0, MAX_LISTED_PROBLEMS) },
    );
  }
  return [...out].sort();
}

export function groupTooLarge(count: number) {
  return apiError(
    422,
    'group_too_large',
    `a group holds at most ${MAX_GROUP_IPS} IPs; this one would hold ${count}`,
    {
      limit: MAX_GROUP_IPS,
      count,
    },
  );
}

function addEntry(value: string, out: Set<string>): string | null {
  if (value.includes('/')) {
    const block = parseCidr(value);
    if (!block) return `"${value}" is not an IP address or CIDR block`;
    const bits = block.network.family === 4 ? 32 : 128;
    if (2 ** (bits - block.prefix) > MAX_CIDR_ADDRESSES) {
      const largest = block.network.family === 4 ? 22 : 118;
      return `"${value}" is larger than the /${largest} blocks that are expanded; list smaller blocks`;
    }
    for (const ip of expandCidr(block)) {
      const problem = targetProblem(parseIp(ip)!);
      if (problem) return `"${value}" contains ${ip}, ${article(problem)} ${problem} address`;
      out.add(ip);
    }
    return null;
  }
  if (value.includes('%')) {
    return `"${value}" names an interface (the zone after %), which only one host can: a group's addresses carry none`;
  }
  const parsed = parseIp(value);
  if (!parsed) return `"${value}" is not an IP address`;
  const problem = targetProblem(parsed);
  if (problem) return refusal(value, parsed, problem);
  out.add(formatIp(parsed));
  return null;
}

/** Why a single address is refused, naming it as it was written and as it is canonically. */
function refusal(value: string, parsed: ParsedIp, problem: Exclude<AddressProblem, 'loopback'>): string {
  const ip = formatIp(parsed);
  // ::ffff:224.0.0.1 is checked as the IPv4 address it maps to: say so.
  const named = parsed.family === 4 && value.includes(':') ? `"${value}" (IPv4 ${ip})` : ip;
  if (problem === 'link-local') {
    return `${named} is a link-local address: it is reachable only through one interface of one host, which a group's addresses cannot name; use a global or unique-local address`;
  }
  if (problem === 'ipv4-compatible') {
    const v4 = formatIp({ family: 4, bytes: parsed.bytes.subarray(12) });
    return `${named} is an IPv4-compatible IPv6 address (deprecated, and not routed); use the IPv4 address ${v4}`;
  }
  return `${named} is ${article(problem)} ${problem} address and cannot be pinged`;
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}

/** A path segment that must be one IP address (history); 400 when it is not. */
export function pathIp(value: string): string {
  const ip = canonicalIp(value);
  if (!ip) throw apiError(400, 'invalid_request', `"${value}" is not an IP address`, { param: 'ip' });
  return ip;
}

/** text/plain inventory exports: one address or block per line; blank lines and # comments skipped. */
export function linesOf(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line.length > 0);
}
