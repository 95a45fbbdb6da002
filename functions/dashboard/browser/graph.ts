import type { HistoryPoint } from '../../../shared/schema.ts';
import { esc } from './dom.ts';
import { fmtLoss, fmtMs, lossColor } from './format.ts';

// SmokePing-style graphs as SVG markup: p10-p90 and p25-p75 bands, the median as a line coloured
// by loss, and loss as bars along the bottom.

const W = 760;
const H = 260;
const LEFT = 56;
const RIGHT = 12;
const TOP = 12;
const BOTTOM = 40;
const LOSS_H = 18;
const TICKS = 6;

export function drawGraph(points: readonly HistoryPoint[], bucket: number, span: number): string {
  const last = points.at(-1);
  if (!last) return '<p class="empty">No measurements in this range yet.</p>';
  // The axis covers the whole range asked for, so gaps in the data show as gaps.
  const t1 = Math.max(Date.now() / 1000, last.t + bucket);
  const t0 = t1 - span;
  const ys = points.flatMap((p) => [p.p90, p.max, p.median]).filter((v): v is number => v !== null);
  const yMax = Math.max(1, ...ys) * 1.1;
  const x = (t: number) => LEFT + ((t - t0) / Math.max(1, t1 - t0)) * (W - LEFT - RIGHT);
  const y = (v: number) => TOP + (1 - v / yMax) * (H - TOP - BOTTOM - LOSS_H);
  const bw = Math.max(1, x(t0 + bucket) - x(t0));
  let svg = `<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="latency and loss">`;
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    svg +=
      `<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y(v)}" y2="${y(v)}" class="grid"/>` +
      `<text x="${LEFT - 6}" y="${y(v) + 4}" class="axis" text-anchor="end">${fmtMs(v)}</text>`;
  }
  for (const p of points) {
    const px = x(p.t);
    const bar = (top: number, height: number, attrs: string) =>
      `<rect x="${px}" width="${bw}" y="${top}" height="${height}" ${attrs}`;
    if (p.p10 !== null && p.p90 !== null)
      svg += `${bar(y(p.p90), Math.max(1, y(p.p10) - y(p.p90)), 'class="band-outer"')}/>`;
    if (p.p25 !== null && p.p75 !== null)
      svg += `${bar(y(p.p75), Math.max(1, y(p.p25) - y(p.p75)), 'class="band-inner"')}/>`;
    const loss = p.sent > 0 ? 1 - p.received / p.sent : null;
    if (p.median !== null) {
      const when = new Date(p.t * 1000).toLocaleString();
      const tip = `${when}: median ${fmtMs(p.median)}, loss ${fmtLoss(loss)} (${p.received}/${p.sent})`;
      svg += `${bar(y(p.median) - 1.5, 3, `fill="${lossColor(loss)}"`)}><title>${esc(tip)}</title></rect>`;
    }
    if (loss !== null && loss > 0)
      svg += `${bar(H - BOTTOM - LOSS_H * loss, LOSS_H * loss, `fill="${lossColor(loss)}"`)}/>`;
  }
  for (let i = 0; i <= TICKS; i++) {
    const t = t0 + ((t1 - t0) * i) / TICKS;
    const d = new Date(t * 1000);
    const label =
      bucket >= 3600
        ? d.toLocaleDateString()
        : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    const anchor = i === 0 ? 'start' : i === TICKS ? 'end' : 'middle';
    svg += `<text x="${x(t)}" y="${H - 12}" class="axis" text-anchor="${anchor}">${esc(label)}</text>`;
  }
  svg += `<text x="${LEFT}" y="${H - BOTTOM + 2}" class="axis">loss</text>`;
  return `${svg}</svg>`;
}
