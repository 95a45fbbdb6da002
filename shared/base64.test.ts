import { describe, expect, it } from 'vitest';
import { base64ToBytes, bytesToBase64 } from './base64.ts';

describe('base64', () => {
  it('encodes as standard padded base64, every byte value included', () => {
    expect(bytesToBase64(new Uint8Array([]))).toBe('');
    expect(bytesToBase64(new TextEncoder().encode('foob'))).toBe('Zm9vYg==');
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(bytesToBase64(all)).toBe(Buffer.from(all).toString('base64'));
    expect([...base64ToBytes(bytesToBase64(all))]).toEqual([...all]);
  });

  it('refuses what is not base64', () => {
    expect(() => base64ToBytes('abcde')).toThrow();
    expect(() => base64ToBytes('no spaces!')).toThrow();
  });
});
