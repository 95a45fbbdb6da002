// A cheap fingerprint of a group's membership, computed the same way by the agent (over the members
// it probed) and by the API (over the members it wrote). A summary counts for a check only when its
// digest equals the group's current one, so a member added since the agent's run is never passed
// unseen. Two independent 32-bit FNV-1a style hashes over the sorted members, plus their count:
// collisions between two memberships of one group are not a practical concern at this size.

export function membershipDigest(ips: readonly string[]): string {
  const sorted = [...ips].sort();
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ sorted.length;
  for (const ip of sorted) {
    for (let i = 0; i < ip.length; i++) {
      const c = ip.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 15;
    }
    // A separator, so that ["1.2", "3"] and ["1.23"] differ.
    a = Math.imul(a ^ 0x0a, 0x01000193);
    b = Math.imul(b ^ 0x0a, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return `${sorted.length}:${hex(a)}${hex(b)}`;
}

/** The member count a digest was computed over; null for a value that is not a digest. */
export function digestCount(digest: string): number | null {
  const match = /^([0-9]+):[0-9a-f]{16}$/.exec(digest);
  return match ? Number(match[1]) : null;
}

function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}
