import { describe, expect, it } from 'vitest';
import { RecordLists } from './record-lists.ts';

function pushAll(lists: RecordLists, list: number, values: number[]): void {
  for (const v of values) {
    const at = lists.push(list);
    lists.data[at] = v;
    lists.data[at + 1] = -v;
  }
}

describe('RecordLists', () => {
  it('keeps each list its own records, in order, across chunks', () => {
    const lists = new RecordLists(2, 4);
    pushAll(lists, 0, [1, 2, 3, 4, 5, 6]);
    pushAll(lists, 3, [10, 11]);
    pushAll(lists, 0, [7]);
    expect(lists.values(0)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(lists.values(0, 1)).toEqual([-1, -2, -3, -4, -5, -6, -7]);
    expect(lists.values(3)).toEqual([10, 11]);
    expect(lists.values(1)).toEqual([]);
    expect(lists.length(0)).toBe(7);
    expect(lists.chunksInUse).toBe(3);
  });

  it('drops records from the front, giving back chunks as they empty', () => {
    const lists = new RecordLists(2, 4);
    pushAll(lists, 0, [1, 2, 3, 4, 5, 6]);
    for (let i = 0; i < 4; i++) lists.shift(0);
    expect(lists.values(0)).toEqual([5, 6]);
    expect(lists.data[lists.firstAt(0)]).toBe(5);
    expect(lists.chunksInUse).toBe(1);
    lists.shift(0);
    lists.shift(0);
    lists.shift(0);
    expect(lists.firstAt(0)).toBe(-1);
    expect(lists.chunksInUse).toBe(0);
    pushAll(lists, 0, [8]);
    expect(lists.values(0)).toEqual([8]);
  });

  it('works as a sliding window: the pool stays as large as the records held at once', () => {
    const lists = new RecordLists(2, 4);
    for (let i = 0; i < 1_000; i++) {
      for (let list = 0; list < 10; list++) {
        pushAll(lists, list, [i]);
        if (lists.length(list) > 7) lists.shift(list);
      }
    }
    for (let list = 0; list < 10; list++)
      expect(lists.values(list)).toEqual([993, 994, 995, 996, 997, 998, 999]);
    expect(lists.chunksInUse).toBeLessThanOrEqual(30);
  });

  it('reuses the chunks of a cleared list, and grows past its first size with records intact', () => {
    const lists = new RecordLists(2, 4);
    pushAll(lists, 0, [1, 2, 3, 4, 5]);
    lists.clear(0);
    expect(lists.values(0)).toEqual([]);
    expect(lists.chunksInUse).toBe(0);
    const lists2 = new RecordLists(1, 2);
    for (let list = 0; list < 100; list++) {
      for (let i = 0; i < 5; i++) {
        // `push` first: it may replace `data`.
        const at = lists2.push(list);
        lists2.data[at] = list * 10 + i;
      }
    }
    for (let list = 0; list < 100; list++)
      expect(lists2.values(list)).toEqual([0, 1, 2, 3, 4].map((i) => list * 10 + i));
    expect(lists2.chunksInUse).toBe(300);
  });

  it('grows once for the lists and chunks planned, with records intact', () => {
    const lists = new RecordLists(2, 4);
    pushAll(lists, 0, [1, 2]);
    lists.expect(1_000, 999);
    const pools = new Set<Float64Array>([lists.data]);
    for (let list = 1; list < 1_000; list++) {
      pushAll(lists, list, [list]);
      pools.add(lists.data);
    }
    // The first pool, and the one copy made when it filled; by half again, it would have been 8.
    expect(pools.size).toBe(2);
    expect(lists.data.length).toBe(1_000 * 4 * 2);
    expect(lists.values(0)).toEqual([1, 2]);
    expect(lists.values(999, 1)).toEqual([-999]);
  });

  it('copies a field of a list across chunks, oldest first, after records were dropped', () => {
    const lists = new RecordLists(2, 4);
    pushAll(lists, 3, [1, 2, 3, 4, 5, 6, 7]);
    lists.shift(3);
    const out = new Float64Array(6);
    lists.copyTo(3, out, 1);
    expect([...out]).toEqual([-2, -3, -4, -5, -6, -7]);
  });
});
