import { describe, expect, it } from 'vitest';
import { fitted, IpSlots } from './ip-slots.ts';

describe('IpSlots', () => {
  it('gives each IP its own slot and the same one again', () => {
    const slots = new IpSlots();
    expect(slots.add('198.18.0.1')).toBe(0);
    expect(slots.add('198.18.0.2')).toBe(1);
    expect(slots.add('198.18.0.1')).toBe(0);
    expect(slots.slotOf('198.18.0.2')).toBe(1);
    expect(slots.slotOf('198.18.0.3')).toBeUndefined();
    expect(slots.size).toBe(2);
    expect(slots.length).toBe(2);
  });

  it('hands a forgotten IP slot to the next new IP, so the arrays do not grow', () => {
    const slots = new IpSlots();
    for (let i = 0; i < 100; i++) slots.add(`198.18.0.${i}`);
    expect(slots.remove('198.18.0.7')).toBe(7);
    expect(slots.remove('198.18.0.7')).toBeUndefined();
    expect(slots.slotOf('198.18.0.7')).toBeUndefined();
    expect(slots.add('198.18.1.1')).toBe(7);
    expect(slots.length).toBe(100);
    expect(slots.size).toBe(100);
  });

  it('lists IPs in the order they came, a returning IP last', () => {
    const slots = new IpSlots();
    for (const ip of ['a', 'b', 'c']) slots.add(ip);
    slots.remove('a');
    slots.add('a');
    expect([...slots.ips()]).toEqual(['b', 'c', 'a']);
    expect([...slots.entries()]).toEqual([
      ['b', 1],
      ['c', 2],
      ['a', 0],
    ]);
    slots.clear();
    expect(slots.size).toBe(0);
    expect(slots.add('d')).toBe(0);
  });
});

describe('fitted', () => {
  it('keeps an array long enough, else copies it into one half as long again', () => {
    const a = new Float64Array([1, 2]);
    expect(fitted(a, 2)).toBe(a);
    const b = fitted(a, 3, Number.NaN);
    expect(b.length).toBeGreaterThanOrEqual(4);
    expect([...b.slice(0, 3)]).toEqual([1, 2, Number.NaN]);
    const c = fitted(new Int32Array(20), 21);
    expect(c).toBeInstanceOf(Int32Array);
    expect(c.length).toBe(30);
  });
});
