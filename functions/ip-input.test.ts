import { HTTPException } from 'hono/http-exception';
import { describe, expect, it } from 'vitest';
import { linesOf, MAX_GROUP_IPS, normaliseTargets } from './ip-input.ts';

async function errorOf(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(HTTPException);
    const res = (error as HTTPException).getResponse();
    // biome-ignore lint/suspicious/noExplicitAny: error bodies are read field by field
    return { status: res.status, body: (await res.json()) as { error: any } };
  }
  throw new Error('expected a refusal');
}

describe('normaliseTargets', () => {
  it('canonicalises, expands blocks without network and broadcast, folds duplicates, sorts', () => {
    expect(
      normaliseTargets(['198.18.0.9', '198.18.0.8/30', 'FD00::A', 'fd00:0::a', '198.18.0.9'], 'ips'),
    ).toEqual(['198.18.0.10', '198.18.0.9', 'fd00::a']);
    expect(normaliseTargets(['fd00::/126'], 'ips')).toEqual(['fd00::', 'fd00::1', 'fd00::2', 'fd00::3']);
  });

  it('allows loopback (an agent may check its own stack)', () => {
    expect(normaliseTargets(['127.0.0.1', '::1'], 'ips')).toEqual(['127.0.0.1', '::1']);
  });

  it('refuses a block holding a multicast address, naming both', async () => {
    const { status, body } = await errorOf(() => normaliseTargets(['239.255.255.0/30'], 'add'));
    expect(status).toBe(422);
    expect(body.error.message).toBe('add[0]: "239.255.255.0/30" contains 239.255.255.1, a multicast address');
  });

  it('lists at most 20 problems however many there are', async () => {
    const { body } = await errorOf(() =>
      normaliseTargets(
        Array.from({ length: 500 }, (_, i) => `x${i}`),
        'ips',
      ),
    );
    expect(body.error.problems).toHaveLength(20);
  });

  it('stops expanding as soon as the group limit is passed', async () => {
    const blocks = Array.from({ length: 1000 }, (_, i) => `10.${i >> 6}.${(i & 63) * 4}.0/22`);
    const { body } = await errorOf(() => normaliseTargets(blocks, 'ips'));
    expect(body.error).toMatchObject({ type: 'group_too_large', limit: MAX_GROUP_IPS });
    expect(body.error.count).toBeLessThan(MAX_GROUP_IPS + 1100);
  });
});

describe('linesOf', () => {
  it('reads one entry per line, skipping blanks and comments', () => {
    expect(linesOf('# head\r\n198.18.0.1\n\n  fd00::1  # note\n#\n')).toEqual(['198.18.0.1', 'fd00::1']);
  });
});
