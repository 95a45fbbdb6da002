import { loadAlerts, startAlertsPanel } from './alerts-panel.ts';
import { api } from './api.ts';
import type { AgentList, GroupList } from './api-types.ts';
import { closest, element, esc } from './dom.ts';
import { startMeasurePanel } from './measure-panel.ts';
import { loadHistory, loadReport } from './report.ts';
import { isRange, rememberToken, state } from './state.ts';

// The dashboard's browser code: bundled by scripts/build-dashboard.ts into the one inline script
// of /dashboard (no CDN: the page must work offline and under a strict CSP). It only reads the
// public API with the token the user pastes.

const REFRESH_MS = 30_000;

function showError(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  const status = element('status');
  status.textContent = message;
  status.className = 'status bad';
  if (/^401/.test(message)) element('token').focus();
}

async function loadOverview(): Promise<void> {
  const status = element('status');
  status.textContent = 'loading…';
  status.className = 'status';
  // Its own errors are shown in its panel: the rest of the page does not wait for it.
  void loadAlerts();
  try {
    const [groups, agents] = await Promise.all([api<GroupList>('/v1/groups'), api<AgentList>('/v1/agents')]);
    element('groups').innerHTML =
      groups.groups
        .map(
          (g) =>
            `<li><button data-group="${esc(g.name)}"${g.name === state.group ? ' class="on"' : ''}>` +
            `${esc(g.name)} <small>${g.ip_count} IPs</small></button></li>`,
        )
        .join('') || '<li><small>no groups yet</small></li>';
    element('agents').innerHTML =
      agents.agents
        .map(
          (a) =>
            `<li><span class="dot ${a.online ? 'up' : 'down'}"></span>${esc(a.name)}` +
            ` <small>${a.job_count} jobs, ${a.err_count} in err list</small></li>`,
        )
        .join('') || '<li><small>no agents yet</small></li>';
    status.textContent = `updated ${new Date().toLocaleTimeString()}`;
    if (!state.group) state.group = groups.groups[0]?.name ?? null;
    await loadReport();
  } catch (error) {
    showError(error);
  }
}

const tokenInput = element('token', HTMLInputElement);
tokenInput.value = state.token;
element('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  rememberToken(tokenInput.value.trim());
  void loadOverview();
});
element('groups').addEventListener('click', (event) => {
  const group = closest(event, 'button[data-group]')?.dataset.group;
  if (!group) return;
  state.group = group;
  state.agent = null;
  state.ip = null;
  loadReport().catch(showError);
});
element('report').addEventListener('click', (event) => {
  const cell = closest(event, 'td[data-agent]');
  if (!cell?.dataset.agent || !cell.dataset.ip) return;
  state.agent = cell.dataset.agent;
  state.ip = cell.dataset.ip;
  loadHistory().catch(showError);
});
element('ranges').addEventListener('click', (event) => {
  const range = closest(event, 'button[data-range]')?.dataset.range;
  if (!isRange(range) || !state.agent) return;
  state.range = range;
  loadHistory().catch(showError);
});
startMeasurePanel();
startAlertsPanel();
if (state.token) void loadOverview();
setInterval(() => {
  if (state.token && document.visibilityState === 'visible') void loadOverview();
}, REFRESH_MS);
