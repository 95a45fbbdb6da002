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

  it('plans room for the new IPs of a run, counting freed slots and known IPs', () => {
    const slots = new IpSlots();
    for (let i = 0; i < 10; i++) slots.add(`10.0.0.${i}`);
    slots.remove('10.0.0.3');
    const run = Array.from({ length: 20 }, (_, i) => ({ ip: `10.0.0.${i}` }));
    // 11 of the 20 are new (10..19 and the removed .3); one of them takes the freed slot.
    expect(slots.expect(run)).toBe(11);
    expect(slots.room).toBe(20);
    for (const { ip } of run) slots.add(ip);
    expect(slots.length).toBe(20);
    expect(slots.expect(run)).toBe(0);
    expect(slots.room).toBe(20);
    slots.clear();
    expect(slots.room).toBe(0);
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

  it('grows straight to the planned room, and by half again past it', () => {
    const planned = fitted(new Float64Array(16), 17, Number.NaN, 10_000);
    expect(planned.length).toBe(10_000);
    expect(Number.isNaN(planned[9_999]!)).toBe(true);
    expect(fitted(planned, 10_000, 0, 10_000)).toBe(planned);
    expect(fitted(planned, 10_001, 0, 10_000).length).toBe(15_000);
  });

  it('sizes a table once for a whole run of new IPs', () => {
    // The way the tables use it: plan, then add slot by slot, fitting the array at each.
    const slots = new IpSlots();
    const run = Array.from({ length: 5_000 }, (_, i) => ({ ip: `10.0.${i >> 8}.${i & 255}` }));
    slots.expect(run);
    let column = new Float64Array(0);
    const lengths = new Set<number>();
    for (const { ip } of run) {
      slots.add(ip);
      column = fitted(column, slots.length, 0, slots.room);
      lengths.add(column.length);
    }
    expect([...lengths]).toEqual([5_000]);
  });
});
