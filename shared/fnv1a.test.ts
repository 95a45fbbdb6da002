import { describe, expect, it } from 'vitest';
import { fnv1a32 } from './fnv1a.ts';

describe('fnv1a32', () => {
  it('gives the published FNV-1a 32-bit values for ASCII text', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('is an unsigned 32-bit integer, the same for the same text', () => {
    const h = fnv1a32('198.51.100.7');
    expect(Number.isInteger(h) && h >= 0 && h < 2 ** 32).toBe(true);
    expect(fnv1a32('198.51.100.7')).toBe(h);
    expect(fnv1a32('198.51.100.8')).not.toBe(h);
  });
});
