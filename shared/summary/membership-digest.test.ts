import { describe, expect, it } from 'vitest';
import { digestCount, membershipDigest } from './membership-digest.ts';

describe('membershipDigest', () => {
  it('depends on the members, not their order, and carries their count', () => {
    const d = membershipDigest(['10.0.0.2', 'fd00::1', '10.0.0.1']);
    expect(d).toBe(membershipDigest(['10.0.0.1', '10.0.0.2', 'fd00::1']));
    expect(d).toMatch(/^3:[0-9a-f]{16}$/);
    expect(digestCount(d)).toBe(3);
    expect(digestCount('nonsense')).toBeNull();
  });

  it('tells apart memberships that differ by one member or by where one ends', () => {
    const base = Array.from({ length: 1000 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
    const seen = new Set([membershipDigest(base)]);
    for (let i = 0; i < 200; i++) seen.add(membershipDigest(base.filter((_, j) => j !== i)));
    expect(seen.size).toBe(201);
    expect(membershipDigest(['1.2', '3'])).not.toBe(membershipDigest(['1.23']));
    expect(membershipDigest([])).toBe(membershipDigest([]));
  });
});
