import { fnv1a32 } from '../../shared/fnv1a.ts';
import type { GroupSummary } from '../../shared/schema.ts';

// The order a group's report pages through, without ever reading or sorting the whole membership:
// first the members some agent's summary shows in trouble (no status, lost packets, no figure
// yet), sorted; then every other member in the order Redis's SSCAN walks the set, each page's
// share sorted. Only summaries of the group's current membership count.
//
// A cursor says where the next page starts: `h{offset}` in the troubled list, or
// `s{sscan cursor}.{skip}` (the SSCAN batch at that cursor, past its first `skip` members, since a
// page may end inside a batch). Each carries the stamp of the summaries the first page was
// ordered by. The scan part leaves out the troubled members only while the summaries are still
// those: once an agent has rewritten its summary, a member may have turned troubled after the
// troubled pages were served, so every scanned member is listed, and one may appear twice
// rather than never. A member added or removed while paging may be missed or repeated (SSCAN).

export type ReportCursor =
  | { phase: 'head'; offset: number; stamp: string }
  | { phase: 'scan'; cursor: string; skip: number; stamp: string };

export const REPORT_CURSOR_PATTERN = /^(h[0-9]{1,7}|s[0-9]{1,19}\.[0-9]{1,7})\.[0-9a-f]{8}$/;

export function parseCursor(text: string): ReportCursor | null {
  if (!REPORT_CURSOR_PATTERN.test(text)) return null;
  const parts = text.slice(1).split('.');
  if (text[0] === 'h') return { phase: 'head', offset: Number(parts[0]), stamp: parts[1]! };
  return { phase: 'scan', cursor: parts[0]!, skip: Number(parts[1]), stamp: parts[2]! };
}

export function formatCursor(c: ReportCursor): string {
  return c.phase === 'head' ? `h${c.offset}.${c.stamp}` : `s${c.cursor}.${c.skip}.${c.stamp}`;
}

/** Where the SSCAN of a page starts, and how many members it needs at most. */
export function scanFor(cursor: ReportCursor | null, limit: number): { cursor: string; count: number } {
  if (cursor?.phase === 'scan') return { cursor: cursor.cursor, count: cursor.skip + limit };
  return { cursor: '0', count: limit };
}

/** The members the summaries of the current membership show in trouble, sorted, and their stamp. */
export function troubledOf(
  summaries: ReadonlyMap<string, GroupSummary>,
  digest: string | null,
): { troubled: string[]; stamp: string } {
  const set = new Set<string>();
  const times: string[] = [];
  for (const [agent, summary] of summaries) {
    if (digest === null || summary.digest !== digest) continue;
    times.push(`${agent}\n${summary.computed_at}`);
    for (const ip of summary.missing) set.add(ip);
    for (const e of summary.listed) if (e.loss !== 0 || e.rtt === null) set.add(e.ip);
  }
  return { troubled: [...set].sort(), stamp: stampOf(`${digest}\n${times.sort().join('\n')}`) };
}

export interface PagePlan {
  ips: string[];
  next: string | null;
}

/** One page: `size` members at most, from the troubled list and then the SSCAN batch given. */
export function planPage(input: {
  cursor: ReportCursor | null;
  size: number;
  troubled: readonly string[];
  stamp: string;
  /** The SSCAN batch at `scanFor(cursor)`, and the cursor SSCAN answered after it. */
  scanned: readonly string[];
  nextScan: string;
}): PagePlan {
  const { cursor, size, troubled } = input;
  const stamp = cursor?.stamp ?? input.stamp;
  const head: string[] = [];
  let skip = 0;
  if (cursor === null || cursor.phase === 'head') {
    const offset = cursor?.offset ?? 0;
    head.push(...troubled.slice(offset, offset + size));
    if (offset + size < troubled.length) {
      return { ips: head, next: formatCursor({ phase: 'head', offset: offset + size, stamp }) };
    }
  } else {
    skip = cursor.skip;
  }
  const leaveOut = stamp === input.stamp ? new Set(troubled) : new Set<string>();
  const rest: string[] = [];
  let i = skip;
  for (; i < input.scanned.length && head.length + rest.length < size; i++) {
    const ip = input.scanned[i]!;
    if (!leaveOut.has(ip)) rest.push(ip);
  }
  const at = cursor?.phase === 'scan' ? cursor.cursor : '0';
  let next: string | null;
  if (i < input.scanned.length) next = formatCursor({ phase: 'scan', cursor: at, skip: i, stamp });
  else if (input.nextScan === '0') next = null;
  else next = formatCursor({ phase: 'scan', cursor: input.nextScan, skip: 0, stamp });
  return { ips: [...head, ...rest.sort()], next };
}

/** Most (agent, IP) cells on one page: ~100 bytes each keeps a page near 600 KB. */
const REPORT_CELLS_PER_PAGE = 6_000;

/** The page size actually served: the asked limit, lowered so a page stays within its cells. */
export function pageSize(limit: number, agentCount: number): number {
  return Math.max(1, Math.min(limit, Math.floor(REPORT_CELLS_PER_PAGE / Math.max(1, agentCount))));
}

/** A 32-bit FNV-1a hash in 8 hex digits: a stamp, not a secret. */
function stampOf(text: string): string {
  return fnv1a32(text).toString(16).padStart(8, '0');
}
