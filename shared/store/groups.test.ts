import { describe, expect, it } from 'vitest';
import { useFreshStore } from '../../test/support/fresh-store.ts';
import { keySchema } from '../keys.ts';
import { MEMBERS_PER_COMMAND } from './context.ts';

// Large groups are written through a staging key that expires (so an abandoned write cleans up
// after itself) and renamed into place; RENAME carries the expiry along, so the group must lose it.

const t = useFreshStore();
const keys = keySchema();

/** `count` distinct addresses in 198.18.0.0/15. */
function addresses(count: number, offset = 0): string[] {
  return Array.from({ length: count }, (_, i) => {
    const n = i + offset;
    return `198.${18 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
  });
}

describe('a group larger than one command', () => {
  it('is written whole and never expires (replace)', async () => {
    const ips = addresses(MEMBERS_PER_COMMAND + 2_000);
    await t.store.groups.replace('big', ips);
    expect(await t.backend.redis.scard(keys.group('big'))).toBe(ips.length);
    expect(await t.backend.redis.ttl(keys.group('big'))).toBe(-1);
    // Nothing of the staging key is left behind.
    const [, staged] = await t.backend.redis.scan(0, { match: 'group-staging_*', count: 1_000 });
    expect(staged).toEqual([]);
  });

  it('never expires after a patch too large for one request either', async () => {
    await t.store.groups.replace('big', addresses(10));
    await t.store.groups.patch('big', addresses(MEMBERS_PER_COMMAND + 1, 10), []);
    expect(await t.backend.redis.scard(keys.group('big'))).toBe(MEMBERS_PER_COMMAND + 11);
    expect(await t.backend.redis.ttl(keys.group('big'))).toBe(-1);
  });
});
