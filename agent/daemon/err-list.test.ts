import { describe, expect, it } from 'vitest';
import { ErrList, type ErrListChange } from './err-list.ts';

const fresh = (): ErrListChange => ({ added: [], removed: [] });

describe('ErrList', () => {
  it('adds on the first loss and removes only after the clean window and five answers', () => {
    const list = new ErrList(10_000);
    let c = fresh();
    list.observe('198.18.0.1', 1, 1, 0, c);
    expect(c.added).toEqual([]);
    list.observe('198.18.0.1', 1, 0, 1_000, c);
    expect(c.added).toEqual(['198.18.0.1']);
    // Answered, but the window has not passed.
    c = fresh();
    for (let t = 2_000; t <= 10_000; t += 1_000) list.observe('198.18.0.1', 1, 1, t, c);
    expect(c.removed).toEqual([]);
    // A loss inside the window restarts it.
    list.observe('198.18.0.1', 2, 1, 10_500, c);
    for (let t = 11_000; t < 20_500; t += 1_000) list.observe('198.18.0.1', 1, 1, t, c);
    expect(list.has('198.18.0.1')).toBe(true);
    list.observe('198.18.0.1', 1, 1, 20_500, c);
    expect(c.removed).toEqual(['198.18.0.1']);
    expect(c.added).toEqual([]);
  });

  it('needs five answers even when the window passed long ago', () => {
    const list = new ErrList(1_000);
    const c = fresh();
    list.seed(['198.18.0.9'], 0);
    for (let i = 0; i < 4; i++) list.observe('198.18.0.9', 1, 1, 100_000 + i, c);
    expect(list.has('198.18.0.9')).toBe(true);
    list.observe('198.18.0.9', 1, 1, 100_010, c);
    expect(c.removed).toEqual(['198.18.0.9']);
  });

  it('forgets IPs no job probes any more, and says so', () => {
    const list = new ErrList(1_000);
    list.seed(['198.18.0.1', '198.18.0.2'], 0);
    const c = fresh();
    list.forget(new Set(['198.18.0.2', '198.18.0.3']), c);
    expect(c.removed).toEqual(['198.18.0.1']);
    expect(list.members()).toEqual(['198.18.0.2']);
  });
});
