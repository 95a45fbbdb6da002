import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalIp, expandCidr, parseCidr, parseIp, targetProblem } from './ip.ts';

describe('canonical IPs', () => {
  it.each([
    ['192.168.2.1', '192.168.2.1'],
    [' 10.0.0.1 ', '10.0.0.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8:0000:0000:0000:ff00:0042:8329', '2001:db8::ff00:42:8329'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['2001:db8:1:1:1:1:1:1', '2001:db8:1:1:1:1:1:1'],
    ['2001:db8::0:1', '2001:db8::1'],
    // IPv4-mapped IPv6 is the IPv4 host it maps to, however it is spelled.
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['::FFFF:c000:201', '192.0.2.1'],
    ['::ffff:7f00:1', '127.0.0.1'],
    ['0:0:0:0:0:ffff:10.1.2.3', '10.1.2.3'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
  ])('%s is %s', (input, expected) => {
    expect(canonicalIp(input)).toBe(expected);
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '01.2.3.4',
    '1.2.3.-4',
    'a.b.c.d',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    '12345::',
    ':::',
    'example.com',
    '1.2.3.4/24',
  ])('refuses %j', (input) => {
    expect(canonicalIp(input)).toBeNull();
  });

  it('is idempotent for any IPv4 and IPv6 address', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (ip) => {
        const once = canonicalIp(ip);
        expect(once).not.toBeNull();
        expect(canonicalIp(once!)).toBe(once);
        expect(parseIp(once!)!.bytes).toEqual(parseIp(ip)!.bytes);
      }),
    );
  });

  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        canonicalIp(text);
      }),
    );
  });
});

describe('target addresses', () => {
  const problem = (ip: string) => targetProblem(parseIp(ip)!);
  it('refuses addresses that cannot be pinged as a host', () => {
    expect(problem('0.0.0.0')).toBe('unspecified');
    expect(problem('255.255.255.255')).toBe('broadcast');
    expect(problem('224.0.0.1')).toBe('multicast');
    expect(problem('240.0.0.1')).toBe('reserved');
    expect(problem('::')).toBe('unspecified');
    expect(problem('ff02::1')).toBe('multicast');
  });
  it('applies the IPv4 rules to IPv4-mapped IPv6 addresses', () => {
    expect(problem('::ffff:224.0.0.1')).toBe('multicast');
    expect(problem('::ffff:255.255.255.255')).toBe('broadcast');
    expect(problem('::ffff:0.0.0.0')).toBe('unspecified');
    expect(problem('::ffff:f000:1')).toBe('reserved');
    expect(problem('::ffff:198.18.0.1')).toBeNull();
  });
  it('refuses IPv4-compatible IPv6 (deprecated) and link-local IPv6 (needs a zone)', () => {
    expect(problem('::1.2.3.4')).toBe('ipv4-compatible');
    expect(problem('::102:304')).toBe('ipv4-compatible');
    expect(problem('::2')).toBe('ipv4-compatible');
    expect(problem('fe80::1')).toBe('link-local');
    expect(problem('febf:ffff::1')).toBe('link-local');
    expect(problem('fec0::1')).toBeNull();
    expect(problem('::1:0:0:1')).toBeNull();
  });
  it('accepts ordinary and loopback addresses', () => {
    expect(problem('10.0.0.1')).toBeNull();
    expect(problem('127.0.0.1')).toBeNull();
    expect(problem('2001:db8::1')).toBeNull();
    expect(problem('::1')).toBeNull();
  });
});

describe('CIDR blocks', () => {
  it('expands a /30 without network and broadcast', () => {
    expect([...expandCidr(parseCidr('10.0.0.4/30')!)]).toEqual(['10.0.0.5', '10.0.0.6']);
  });
  it('keeps both addresses of a /31 and the one of a /32', () => {
    expect([...expandCidr(parseCidr('10.0.0.0/31')!)]).toEqual(['10.0.0.0', '10.0.0.1']);
    expect([...expandCidr(parseCidr('10.0.0.9/32')!)]).toEqual(['10.0.0.9']);
  });
  it('clears host bits and carries across octets', () => {
    const ips = [...expandCidr(parseCidr('10.0.1.77/22')!)];
    expect(ips).toHaveLength(1022);
    expect(ips[0]).toBe('10.0.0.1');
    expect(ips[255]).toBe('10.0.1.0');
    expect(ips.at(-1)).toBe('10.0.3.254');
  });
  it('expands IPv6 blocks', () => {
    expect([...expandCidr(parseCidr('2001:db8::/126')!)]).toEqual([
      '2001:db8::',
      '2001:db8::1',
      '2001:db8::2',
      '2001:db8::3',
    ]);
  });
  it('expands an IPv4-mapped block as the IPv4 block it maps', () => {
    expect([...expandCidr(parseCidr('::ffff:10.0.0.4/126')!)]).toEqual(['10.0.0.5', '10.0.0.6']);
    expect(parseCidr('::ffff:10.0.0.0/95')).toBeNull();
  });
  it('refuses malformed blocks', () => {
    expect(parseCidr('10.0.0.0/33')).toBeNull();
    expect(parseCidr('10.0.0.0/')).toBeNull();
    expect(parseCidr('10.0.0.0/a')).toBeNull();
    expect(parseCidr('10.0.0.0')).toBeNull();
  });
});
