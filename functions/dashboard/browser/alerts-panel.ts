import { api } from './api.ts';
import type { AlertList, AlertView, DeliveryLogList } from './api-types.ts';
import { closest, element, esc } from './dom.ts';
import { fmtLoss } from './format.ts';

// The alerts panel: every rule with its state (GET /v1/alerts, the read-only token is enough), and
// the picked rule's delivery log, so an operator sees whether the message went out and, if not,
// what the receiver answered. Refreshed with the rest of the page.

/** The rule whose log is shown; kept across refreshes while the rule exists. */
let picked: string | null = null;

function watches(rule: AlertView): string {
  if (rule.type === 'agent_offline') {
    return `agents offline: ${rule.agents ? esc(rule.agents.join(', ')) : 'any agent'}`;
  }
  const limits = [`loss > ${fmtLoss(rule.max_loss)}`];
  if (rule.max_rtt_ms !== undefined) limits.push(`RTT > ${rule.max_rtt_ms} ms`);
  const who = rule.agents ? ` from ${esc(rule.agents.join(', '))}` : '';
  return `group <b>${esc(rule.group)}</b>${who}: ${esc(limits.join(' or '))}`;
}

function when(iso: string | null): string {
  if (!iso) return '';
  return `<time datetime="${esc(iso)}">${esc(new Date(iso).toLocaleString())}</time>`;
}

function stateCell(rule: AlertView): string {
  const { phase, since, failing_count } = rule.state;
  const failing = phase === 'pending' || phase === 'firing' ? ` <small>${failing_count} failing</small>` : '';
  const from = since ? ` <small>since ${when(since)}</small>` : '';
  return `<span class="phase ${esc(phase)}">${esc(phase)}</span>${failing}${from}`;
}

function rulesTable(list: AlertList): string {
  const problems = list.problems
    .map((p) => `<li class="status bad">${esc(p.name)}: ${esc(p.problem)}</li>`)
    .join('');
  const rows = list.alerts
    .map(
      (rule) =>
        `<tr class="rule${rule.name === picked ? ' on' : ''}" data-rule="${esc(rule.name)}">` +
        `<td><button>${esc(rule.name)}</button></td><td>${watches(rule)}</td><td>${rule.for_s} s</td>` +
        `<td>${stateCell(rule)}</td><td>${esc(rule.notify.join(', '))}</td></tr>`,
    )
    .join('');
  const table = rows
    ? '<table><thead><tr><th>rule</th><th>fails on</th><th>for</th><th>state</th><th>notifies</th></tr></thead>' +
      `<tbody>${rows}</tbody></table>`
    : '<p class="empty">No alert rules yet: create them under /v1/alerts.</p>';
  return (problems ? `<ul class="problems">${problems}</ul>` : '') + table;
}

async function loadLog(name: string): Promise<void> {
  const title = element('alert-log-title');
  const out = element('alert-log');
  title.textContent = `Deliveries of ${name}`;
  const { deliveries } = await api<DeliveryLogList>(`/v1/alerts/${encodeURIComponent(name)}/deliveries`);
  if (picked !== name) return; // another rule was picked while this log was on its way
  if (deliveries.length === 0) {
    out.innerHTML = '<p class="empty">No deliveries yet: the rule has not fired or resolved.</p>';
    return;
  }
  const rows = deliveries
    .map(
      (d) =>
        `<tr class="delivery ${esc(d.outcome)}"><td>${when(d.at)}</td><td>${esc(d.event)}</td>` +
        `<td>${esc(d.notifier)} <small>${esc(d.target)}</small></td><td>${d.attempt}</td>` +
        `<td>${d.status ?? '–'}</td><td>${esc(d.outcome)}</td><td>${esc(d.error ?? '')}</td></tr>`,
    )
    .join('');
  out.innerHTML =
    '<table><thead><tr><th>time</th><th>event</th><th>target</th><th>attempt</th><th>status</th>' +
    `<th>outcome</th><th>error</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function showError(out: HTMLElement, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  out.innerHTML = `<p class="status bad">${esc(message)}</p>`;
}

/** Reads the rules and their states, and the picked rule's log (the first rule in trouble by default). */
export async function loadAlerts(): Promise<void> {
  const out = element('alert-rules');
  try {
    const list = await api<AlertList>('/v1/alerts');
    if (!list.alerts.some((r) => r.name === picked)) {
      picked = (list.alerts.find((r) => r.state.phase !== 'ok') ?? list.alerts[0])?.name ?? null;
    }
    out.innerHTML = rulesTable(list);
  } catch (error) {
    showError(out, error);
    return;
  }
  const log = element('alert-log');
  if (!picked) {
    element('alert-log-title').textContent = 'Deliveries';
    log.innerHTML = '<p class="empty">Pick a rule.</p>';
    return;
  }
  await loadLog(picked).catch((error: unknown) => showError(log, error));
}

export function startAlertsPanel(): void {
  element('alert-rules').addEventListener('click', (event) => {
    const name = closest(event, 'tr[data-rule]')?.dataset.rule;
    if (!name) return;
    picked = name;
    for (const row of document.querySelectorAll<HTMLElement>('#alert-rules tr[data-rule]')) {
      row.classList.toggle('on', row.dataset.rule === name);
    }
    const log = element('alert-log');
    log.innerHTML = '<p class="empty">loading…</p>';
    loadLog(name).catch((error: unknown) => showError(log, error));
  });
}
