import { describe, expect, it } from 'vitest';
import type { IpStatus } from '../../shared/schema.ts';
import { buildSummary } from '../../shared/summary/build-summary.ts';
import { membershipDigest } from '../../shared/summary/membership-digest.ts';
import { formatCursor, parseCursor, planPage, scanFor, troubledOf } from './report-order.ts';

// The report's paging as pure logic, over a stand-in for SSCAN: batches of a fixed order, each
// `count` members long at most, as Redis walks a set's buckets.

const members = Array.from({ length: 57 }, (_, i) => `10.0.${i % 5}.${i}`);
const scanOrder = [...members].reverse();
const BATCH = 9;
function sscan(cursor: string, count: number) {
  // Cursors are batch starts; a batch holds at least `count` members when there are that many.
  const start = Number(cursor);
  const end = Math.min(scanOrder.length, start + Math.max(count, BATCH));
  return { scanned: scanOrder.slice(start, end), nextScan: end >= scanOrder.length ? '0' : String(end) };
}
const status = (ip: string, loss: number): IpStatus => ({
  ip,
  send_count: 10,
  return_count: 10 - loss * 10,
  err: null,
  rtt_avg_ms: 1,
  loss_window: loss,
  updated_at: new Date(0).toISOString(),
});
const summaryAt = (ms: number, lossy: string[]) =>
  buildSummary({
    members,
    statusOf: (ip) => status(ip, lossy.includes(ip) ? 0.5 : 0),
    computedAtMs: ms,
  });

function pageAll(summariesOf: (page: number) => Map<string, ReturnType<typeof summaryAt>>, size: number) {
  const seen: string[] = [];
  let cursor: string | null = null;
  let troubledFirst: number | null = null;
  for (let page = 0; page < 100; page++) {
    const parsed = cursor === null ? null : parseCursor(cursor);
    const scan = scanFor(parsed, size);
    const order = troubledOf(summariesOf(page), membershipDigest(members));
    troubledFirst ??= order.troubled.length;
    const plan = planPage({ cursor: parsed, size, ...order, ...sscan(scan.cursor, scan.count) });
    expect(plan.ips.length).toBeLessThanOrEqual(size);
    seen.push(...plan.ips);
    cursor = plan.next;
    if (cursor === null) return { seen, troubled: troubledFirst };
  }
  throw new Error('the pages never ended');
}

describe('report paging', () => {
  const lossy = ['10.0.3.8', '10.0.1.56', '10.0.0.20', '10.0.2.2', '10.0.4.4'];

  it('serves the troubled members first, then every other member once', () => {
    const summaries = new Map([['a', summaryAt(1_000, lossy)]]);
    for (const size of [1, 2, 4, 7, 50, 500]) {
      const { seen } = pageAll(() => summaries, size);
      expect(seen.slice(0, lossy.length)).toEqual([...lossy].sort());
      expect(seen).toHaveLength(members.length);
      expect(new Set(seen).size).toBe(members.length);
    }
  });

  it('misses no member when the summaries change while paging (some may repeat)', () => {
    const later = ['10.0.0.0', '10.0.1.1'];
    // Page 0 sees one set of troubled members; from page 1 on, the agent found two others.
    const { seen } = pageAll(
      (page) => new Map([['a', page === 0 ? summaryAt(1_000, lossy) : summaryAt(2_000, later)]]),
      4,
    );
    expect(new Set(seen)).toEqual(new Set(members));
    expect(seen.slice(0, 4)).toEqual([...lossy].sort().slice(0, 4));
  });

  it('leaves out summaries of another membership, and reads back the cursors it writes', () => {
    const other = buildSummary({ members: members.slice(1), statusOf: () => undefined, computedAtMs: 0 });
    expect(troubledOf(new Map([['a', other]]), membershipDigest(members)).troubled).toEqual([]);
    expect(troubledOf(new Map([['a', other]]), null).troubled).toEqual([]);
    for (const c of [
      { phase: 'head', offset: 12, stamp: '0a1b2c3d' },
      { phase: 'scan', cursor: '18446744073709551', skip: 3, stamp: 'ffffffff' },
    ] as const) {
      expect(parseCursor(formatCursor(c))).toEqual(c);
    }
    for (const bad of ['2000', 'h1', 's1.2', 'x1.00000000', 'h1.0000000g', 's1.2.3.00000000'])
      expect(parseCursor(bad)).toBeNull();
  });
});
