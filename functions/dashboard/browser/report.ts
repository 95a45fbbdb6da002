import { api, authHeaders } from './api.ts';
import type { CheckVerdict, GroupReport, IpHistory } from './api-types.ts';
import { element, esc } from './dom.ts';
import { fmtAge, fmtLoss, fmtMs, lossColor } from './format.ts';
import { drawGraph } from './graph.ts';
import { isRange, RANGES, state } from './state.ts';

// The picked group's report (every agent's view of every IP, those in trouble first, marked where
// the check places the fault) and the picked cell's latency and loss over time.

/** The check's verdict, 200 or 412 alike, for where the faults likely are; null when there is none. */
async function verdictOf(group: string): Promise<CheckVerdict | null> {
  try {
    const response = await fetch(`/v1/check?group=${encodeURIComponent(group)}`, { headers: authHeaders() });
    return response.status === 200 || response.status === 412
      ? ((await response.json()) as CheckVerdict)
      : null;
  } catch {
    return null;
  }
}

function causeMark(cause: string | undefined): string {
  return cause === 'agent' || cause === 'target' ? ` <small class="cause">likely the ${cause}</small>` : '';
}

function toggleOn(selector: string, isOn: (el: HTMLElement) => boolean): void {
  for (const el of document.querySelectorAll<HTMLElement>(selector)) el.classList.toggle('on', isOn(el));
}

export async function loadReport(): Promise<void> {
  const group = state.group;
  if (!group) return;
  toggleOn('#groups button', (b) => b.dataset.group === group);
  // The report's first page: the IPs some agent's summary shows in trouble come first.
  const [report, verdict] = await Promise.all([
    api<GroupReport>(`/v1/groups/${encodeURIComponent(group)}/report`),
    verdictOf(group),
  ]);
  const causes = new Map<string, string | undefined>();
  for (const f of verdict?.failing ?? [])
    if (f.agent && f.ip) causes.set(`${f.agent} ${f.ip}`, f.likely_cause);
  const agents = report.agents.map((a) => a.name);
  let html = `<h2>${esc(report.group)}</h2>`;
  if (agents.length === 0) html += '<p><small>No agent has a job probing this group.</small></p>';
  if (verdict?.diagnosis && verdict.diagnosis.length > 0) {
    html += `<ul class="diagnosis">${verdict.diagnosis.map((d) => `<li>${esc(d)}</li>`).join('')}</ul>`;
  }
  if (report.total > report.ips.length) {
    html += `<p><small>${report.ips.length} of ${report.total} IPs, those in trouble first.</small></p>`;
  }
  html += `<table><thead><tr><th>IP</th>${agents.map((a) => `<th>${esc(a)}</th>`).join('')}</tr></thead><tbody>`;
  for (const row of report.ips) {
    html += `<tr><td><code>${esc(row.ip)}</code></td>`;
    for (const agent of agents) {
      const m = row.agents[agent];
      if (!m) {
        html += '<td class="cell none">no data</td>';
        continue;
      }
      html +=
        `<td class="cell" data-agent="${esc(agent)}" data-ip="${esc(row.ip)}" title="${esc(m.err || 'answered')}">` +
        `<span class="dot" data-color="${lossColor(m.loss)}"></span>${fmtMs(m.rtt_ms)}` +
        ` <small>${fmtLoss(m.loss)} loss, ${fmtAge(m.age_s)} ago</small>${causeMark(causes.get(`${agent} ${row.ip}`))}</td>`;
    }
    html += '</tr>';
  }
  html += '</tbody></table>';
  element('report').innerHTML = html;
  // Set through the DOM: the page's Content-Security-Policy refuses style attributes in markup.
  for (const dot of document.querySelectorAll<HTMLElement>('#report .dot')) {
    dot.style.background = dot.dataset.color ?? '';
  }
  const first = report.ips[0];
  if (!state.agent && agents[0] && first) {
    state.agent = agents[0];
    state.ip = first.ip;
  }
  await loadHistory();
}

export async function loadHistory(): Promise<void> {
  const { agent, ip, range } = state;
  if (!agent || !ip) return;
  toggleOn('#report td.cell', (td) => td.dataset.agent === agent && td.dataset.ip === ip);
  toggleOn('#ranges button', (b) => b.dataset.range === range);
  const h = await api<IpHistory>(
    `/v1/agents/${encodeURIComponent(agent)}/ips/${encodeURIComponent(ip)}/history?range=${range}`,
  );
  element('graph-title').textContent = `${h.ip} from ${h.agent}, last ${h.range} (${h.resolution}s)`;
  const span = isRange(h.range) ? RANGES[h.range] : RANGES['1h'];
  element('graph').innerHTML = drawGraph(h.points, h.bucket_s, span);
}
