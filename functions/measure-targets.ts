import { type CidrBlock, isLoopback, type ParsedIp, parseCidr, parseIp } from '../shared/ip.ts';
import { MEASUREMENT_LIMITS } from '../shared/measurement-schema.ts';
import { apiError } from './errors.ts';
import { MAX_CIDR_ADDRESSES, normaliseTargets } from './ip-input.ts';

// The targets of an on-demand measurement: the group rules of ip-input.ts (canonical spelling,
// blocks expanded, multicast, broadcast, unspecified and other unpingable addresses refused), and
// three more: loopback is refused too (it would measure the agent itself, which a caller far away
// has no business asking for; a local stack, whose demo targets are loopback, allows it), at most MEASUREMENT_LIMITS.targets addresses, and when the operator
// set MEASURE_ALLOW, only addresses inside its blocks.

/** Addresses the entries would expand to, counted without expanding (a /22 counts 1,022). */
function addressesIn(entries: readonly string[]): number {
  let total = 0;
  for (const raw of entries) {
    const block = raw.includes('/') ? parseCidr(raw.trim()) : null;
    if (!block) {
      total += 1;
      continue;
    }
    const hostBits = (block.network.family === 4 ? 32 : 128) - block.prefix;
    // Larger blocks are refused by normaliseTargets with their own message.
    if (2 ** hostBits > MAX_CIDR_ADDRESSES) continue;
    total += block.network.family === 4 && hostBits >= 2 ? 2 ** hostBits - 2 : 2 ** hostBits;
  }
  return total;
}

function inBlock(ip: ParsedIp, block: CidrBlock): boolean {
  if (ip.family !== block.network.family) return false;
  for (let bit = 0; bit < block.prefix; bit++) {
    const mask = 0x80 >> (bit & 7);
    if ((ip.bytes[bit >> 3]! & mask) !== (block.network.bytes[bit >> 3]! & mask)) return false;
  }
  return true;
}

/** Canonical, de-duplicated addresses; 422 naming the first entry that breaks a rule. */
export function measurementTargets(
  entries: readonly string[],
  field: string,
  allow: readonly CidrBlock[] | null,
  allowLoopback = false,
): string[] {
  const limit = MEASUREMENT_LIMITS.targets;
  const counted = addressesIn(entries);
  if (counted > limit) {
    throw apiError(
      422,
      'too_many_targets',
      `${field} hold ${counted} addresses; a measurement takes at most ${limit}`,
      { field, limit, count: counted },
    );
  }
  const ips = normaliseTargets(entries, field);
  for (const ip of ips) {
    const parsed = parseIp(ip)!;
    if (isLoopback(parsed) && !allowLoopback) {
      throw apiError(422, 'invalid_ip', `${field}: ${ip} is a loopback address, which is not measured`, {
        field,
        problems: [{ value: ip, problem: 'loopback' }],
      });
    }
    if (allow && !allow.some((block) => inBlock(parsed, block))) {
      throw apiError(
        422,
        'target_not_allowed',
        `${field}: ${ip} is outside the ranges this deployment measures (MEASURE_ALLOW)`,
        { field, ip },
      );
    }
  }
  return ips;
}
