import { api, authHeaders, errorMessage } from './api.ts';
import type { MeasurementView } from './api-types.ts';
import { element, esc } from './dom.ts';
import { fmtLoss, fmtMs } from './format.ts';
import { state } from './state.ts';

// The "measure now" panel: starts an on-demand measurement (POST /v1/measurements, which needs the
// read-write token) and shows each agent's figures per target as they come (GET with ?wait_s
// until done).

function measureRows(m: MeasurementView): string {
  let html =
    `<p><small>${esc(m.id)}${m.done ? ', done' : ', waiting…'}</small></p>` +
    '<table><thead><tr><th>agent</th><th>target</th><th>state</th><th>sent / received</th><th>loss</th>' +
    '<th>min / avg / max</th><th>notes</th></tr></thead><tbody>';
  for (const a of m.agents) {
    if (!a.results) {
      html += `<tr class="agent-state"><td>${esc(a.name)}</td><td></td><td>${esc(a.state)}</td><td colspan="4">${esc(a.error ?? '')}</td></tr>`;
      continue;
    }
    for (const r of a.results) {
      const rtt = r.rtt_ms ? `${fmtMs(r.rtt_ms.min)} / ${fmtMs(r.rtt_ms.avg)} / ${fmtMs(r.rtt_ms.max)}` : '–';
      const notes: string[] = [];
      const { unreachable, ttl_exceeded } = r.errors;
      if (unreachable) notes.push(`${unreachable.count} unreachable from ${unreachable.from}`);
      if (ttl_exceeded) notes.push(`${ttl_exceeded.count} TTL exceeded at ${ttl_exceeded.from}`);
      if (r.late) notes.push(`${r.late} late`);
      if (r.duplicates) notes.push(`${r.duplicates} duplicates`);
      html +=
        `<tr class="target"><td>${esc(a.name)}</td><td><code>${esc(r.ip)}</code></td><td>${esc(a.state)}</td>` +
        `<td>${r.sent} / ${r.received}</td><td>${fmtLoss(r.loss)}</td><td>${rtt}</td><td>${esc(notes.join(', '))}</td></tr>`;
    }
  }
  return `${html}</tbody></table>`;
}

function listed(id: string): string[] {
  return element(id, HTMLInputElement)
    .value.split(/[\s,]+/)
    .filter(Boolean);
}

async function measureNow(out: HTMLElement): Promise<void> {
  const targets = listed('measure-targets');
  const agents = listed('measure-agents');
  const body = {
    ...(targets.length > 0 ? { targets } : { group: state.group }),
    ...(agents.length > 0 ? { agents } : {}),
    count: Number(element('measure-count', HTMLInputElement).value),
    interval_ms: Number(element('measure-interval', HTMLInputElement).value),
  };
  out.innerHTML = '<p class="empty">asking…</p>';
  const posted = await fetch('/v1/measurements', {
    method: 'POST',
    headers: authHeaders({ 'content-type': 'application/json' }),
    body: JSON.stringify(body),
  });
  const accepted: unknown = await posted.json().catch(() => ({}));
  if (posted.status !== 202) {
    out.innerHTML = `<p class="status bad">${posted.status} ${esc(errorMessage(accepted) ?? posted.statusText)}</p>`;
    return;
  }
  const { id } = accepted as { id: string };
  for (;;) {
    const m = await api<MeasurementView>(`/v1/measurements/${encodeURIComponent(id)}?wait_s=10`);
    out.innerHTML = measureRows(m);
    if (m.done) return;
  }
}

export function startMeasurePanel(): void {
  const out = element('measure-result');
  element('measure-form').addEventListener('submit', (event) => {
    event.preventDefault();
    measureNow(out).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      out.innerHTML = `<p class="status bad">${esc(message)}</p>`;
    });
  });
}
