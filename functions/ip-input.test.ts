import { HTTPException } from 'hono/http-exception';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linesOf, MAX_GROUP_IPS, normaliseTargets } from './ip-input.ts';
import { type ApiHarness, snapshot, startApiHarness } from './testing/api-harness.ts';

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

  it('stores an IPv4-mapped address as the IPv4 address, once', () => {
    expect(
      normaliseTargets(['::ffff:127.0.0.1', '127.0.0.1', '::ffff:c612:1', '::ffff:198.18.0.0/127'], 'ips'),
    ).toEqual(['127.0.0.1', '198.18.0.0', '198.18.0.1']);
  });

  it.each([
    ['::ffff:224.0.0.1', '"::ffff:224.0.0.1" (IPv4 224.0.0.1) is a multicast address and cannot be pinged'],
    ['::ffff:255.255.255.255', '"::ffff:255.255.255.255" (IPv4 255.255.255.255) is a broadcast address'],
    ['::ffff:0.0.0.0', '"::ffff:0.0.0.0" (IPv4 0.0.0.0) is an unspecified address'],
    [
      '::1.2.3.4',
      '::102:304 is an IPv4-compatible IPv6 address (deprecated, and not routed); use the IPv4 address 1.2.3.4',
    ],
    ['fe80::1', 'fe80::1 is a link-local address: it is reachable only through one interface of one host'],
    ['fe80::1%eth0', '"fe80::1%eth0" names an interface (the zone after %)'],
    ['fe80::/126', '"fe80::/126" contains fe80::, a link-local address'],
  ])('refuses %s, saying why', async (ip, message) => {
    const { status, body } = await errorOf(() => normaliseTargets(['198.18.0.1', ip], 'ips'));
    expect(status).toBe(422);
    expect(body.error.message).toContain(`ips[1]: ${message}`);
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

describe('addresses through the API', () => {
  let api: ApiHarness;
  beforeAll(async () => {
    api = await startApiHarness();
  });
  afterAll(() => api?.close());

  it('PUT a group: a mapped address joins as IPv4, a mapped multicast or a link-local one is refused', async () => {
    const ok = await api.call('PUT', '/v1/groups/mapped', {
      body: { ips: ['127.0.0.1', '::ffff:127.0.0.1'] },
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ ip_count: 1, added: ['127.0.0.1'] });
    await api.backend.redis.flushdb();
    for (const ip of [
      '::ffff:224.0.0.1',
      '::ffff:255.255.255.255',
      '::ffff:0.0.0.0',
      '::1.2.3.4',
      'fe80::1',
    ]) {
      const res = await api.call('PUT', '/v1/groups/bad', { body: { ips: ['198.18.0.1', ip] } });
      expect(res.status, ip).toBe(422);
      expect(res.body.error, ip).toMatchObject({ type: 'invalid_ip', problems: [{ index: 1, value: ip }] });
      expect(await snapshot(api.backend), ip).toEqual({});
    }
  });
});
