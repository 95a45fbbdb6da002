// The dashboard's browser code, served inline (no CDN: the page must work offline and under a
// strict CSP). It only reads the public API with the token the user pastes, kept in localStorage.
// Graphs are SmokePing-style: p10-p90 and p25-p75 bands, the median as a line coloured by loss,
// and loss as bars along the bottom.

export const dashboardScript = `
const $ = (sel) => document.querySelector(sel);
const esc = (s) => String(s).replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]);
const state = { token: localStorage.getItem('ping-agent-token') || '', group: null, agent: null, ip: null, range: '1h' };

async function api(path) {
  const response = await fetch(path, { headers: { authorization: 'Bearer ' + state.token } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const message = (body.error && body.error.message) || response.statusText;
    throw new Error(response.status + ' ' + message);
  }
  return body;
}

function showError(error) {
  $('#status').textContent = error.message;
  $('#status').className = 'status bad';
  if (/^401/.test(error.message)) $('#token').focus();
}

function lossColor(loss) {
  if (loss === null || loss === undefined) return '#8c959f';
  if (loss === 0) return '#1a7f37';
  if (loss < 0.05) return '#9a6700';
  if (loss < 0.2) return '#bc4c00';
  return '#cf222e';
}

function fmtMs(v) { return v === null || v === undefined ? '–' : (v < 10 ? v.toFixed(2) : v.toFixed(1)) + ' ms'; }
function fmtLoss(v) { return v === null || v === undefined ? '–' : (v * 100).toFixed(v > 0 && v < 0.1 ? 1 : 0) + '%'; }
function fmtAge(s) { return s === null || s === undefined ? '–' : s < 120 ? Math.round(s) + ' s' : Math.round(s / 60) + ' min'; }

async function loadOverview() {
  $('#status').textContent = 'loading…';
  $('#status').className = 'status';
  try {
    const [groups, agents] = await Promise.all([api('/v1/groups'), api('/v1/agents')]);
    $('#groups').innerHTML = groups.groups.map((g) =>
      '<li><button data-group="' + esc(g.name) + '"' + (g.name === state.group ? ' class="on"' : '') + '>' +
      esc(g.name) + ' <small>' + g.ip_count + ' IPs</small></button></li>').join('') || '<li><small>no groups yet</small></li>';
    $('#agents').innerHTML = agents.agents.map((a) =>
      '<li><span class="dot ' + (a.online ? 'up' : 'down') + '"></span>' + esc(a.name) +
      ' <small>' + a.job_count + ' jobs, ' + a.err_count + ' in err list</small></li>').join('') || '<li><small>no agents yet</small></li>';
    $('#status').textContent = 'updated ' + new Date().toLocaleTimeString();
    if (!state.group && groups.groups.length > 0) state.group = groups.groups[0].name;
    if (state.group) await loadReport();
  } catch (error) {
    showError(error);
  }
}

// The check's verdict, 200 or 412 alike, for where the faults likely are; null when there is none.
async function verdictOf(group) {
  try {
    const response = await fetch('/v1/check?group=' + encodeURIComponent(group), { headers: { authorization: 'Bearer ' + state.token } });
    return response.status === 200 || response.status === 412 ? await response.json() : null;
  } catch {
    return null;
  }
}

function causeMark(cause) {
  return cause === 'agent' || cause === 'target' ? ' <small class="cause">likely the ' + cause + '</small>' : '';
}

async function loadReport() {
  document.querySelectorAll('#groups button').forEach((b) => b.classList.toggle('on', b.dataset.group === state.group));
  // The report's first page: the IPs some agent's summary shows in trouble come first.
  const [report, verdict] = await Promise.all([
    api('/v1/groups/' + encodeURIComponent(state.group) + '/report'),
    verdictOf(state.group),
  ]);
  const causes = new Map();
  for (const f of (verdict && verdict.failing) || []) if (f.agent && f.ip) causes.set(f.agent + ' ' + f.ip, f.likely_cause);
  const agents = report.agents.map((a) => a.name);
  let html = '<h2>' + esc(report.group) + '</h2>';
  if (agents.length === 0) html += '<p><small>No agent has a job probing this group.</small></p>';
  if (verdict && verdict.diagnosis && verdict.diagnosis.length > 0) {
    html += '<ul class="diagnosis">' + verdict.diagnosis.map((d) => '<li>' + esc(d) + '</li>').join('') + '</ul>';
  }
  if (report.total > report.ips.length) {
    html += '<p><small>' + report.ips.length + ' of ' + report.total + ' IPs, those in trouble first.</small></p>';
  }
  html += '<table><thead><tr><th>IP</th>' + agents.map((a) => '<th>' + esc(a) + '</th>').join('') + '</tr></thead><tbody>';
  for (const row of report.ips) {
    html += '<tr><td><code>' + esc(row.ip) + '</code></td>';
    for (const agent of agents) {
      const m = row.agents[agent];
      if (!m) { html += '<td class="cell none">no data</td>'; continue; }
      html += '<td class="cell" data-agent="' + esc(agent) + '" data-ip="' + esc(row.ip) + '" title="' + esc(m.err || 'answered') +
        '"><span class="dot" data-color="' + lossColor(m.loss) + '"></span>' + fmtMs(m.rtt_ms) +
        ' <small>' + fmtLoss(m.loss) + ' loss, ' + fmtAge(m.age_s) + ' ago</small>' + causeMark(causes.get(agent + ' ' + row.ip)) + '</td>';
    }
    html += '</tr>';
  }
  html += '</tbody></table>';
  $('#report').innerHTML = html;
  // Set through the DOM: the page's Content-Security-Policy refuses style attributes in markup.
  for (const dot of document.querySelectorAll('#report .dot')) dot.style.background = dot.dataset.color;
  if (!state.agent && agents.length > 0 && report.ips.length > 0) {
    state.agent = agents[0];
    state.ip = report.ips[0].ip;
  }
  if (state.agent && state.ip) await loadHistory();
}

async function loadHistory() {
  document.querySelectorAll('#report td.cell').forEach((td) =>
    td.classList.toggle('on', td.dataset.agent === state.agent && td.dataset.ip === state.ip));
  document.querySelectorAll('#ranges button').forEach((b) => b.classList.toggle('on', b.dataset.range === state.range));
  const h = await api('/v1/agents/' + encodeURIComponent(state.agent) + '/ips/' + encodeURIComponent(state.ip) + '/history?range=' + state.range);
  $('#graph-title').textContent = h.ip + ' from ' + h.agent + ', last ' + h.range + ' (' + h.resolution + 's)';
  const span = { '1h': 3600, '24h': 86400, '30d': 2592000 }[h.range] || 3600;
  $('#graph').innerHTML = drawGraph(h.points, h.bucket_s, span);
}

function drawGraph(points, bucket, span) {
  const W = 760, H = 260, L = 56, R = 12, T = 12, B = 40, lossH = 18;
  if (points.length === 0) return '<p class="empty">No measurements in this range yet.</p>';
  // The axis covers the whole range asked for, so gaps in the data show as gaps.
  const t1 = Math.max(Date.now() / 1000, points[points.length - 1].t + bucket), t0 = t1 - span;
  const ys = points.flatMap((p) => [p.p90, p.max, p.median]).filter((v) => v !== null && v !== undefined);
  const yMax = Math.max(1, ...ys) * 1.1;
  const x = (t) => L + ((t - t0) / Math.max(1, t1 - t0)) * (W - L - R);
  const y = (v) => T + (1 - v / yMax) * (H - T - B - lossH);
  const bw = Math.max(1, x(t0 + bucket) - x(t0));
  let svg = '<svg viewBox="0 0 ' + W + ' ' + H + '" role="img" aria-label="latency and loss">';
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    svg += '<line x1="' + L + '" x2="' + (W - R) + '" y1="' + y(v) + '" y2="' + y(v) + '" class="grid"/>' +
      '<text x="' + (L - 6) + '" y="' + (y(v) + 4) + '" class="axis" text-anchor="end">' + fmtMs(v) + '</text>';
  }
  for (const p of points) {
    const px = x(p.t);
    if (p.p10 !== null && p.p90 !== null) svg += '<rect x="' + px + '" width="' + bw + '" y="' + y(p.p90) + '" height="' + Math.max(1, y(p.p10) - y(p.p90)) + '" class="band-outer"/>';
    if (p.p25 !== null && p.p75 !== null) svg += '<rect x="' + px + '" width="' + bw + '" y="' + y(p.p75) + '" height="' + Math.max(1, y(p.p25) - y(p.p75)) + '" class="band-inner"/>';
    const loss = p.sent > 0 ? 1 - p.received / p.sent : null;
    if (p.median !== null) svg += '<rect x="' + px + '" width="' + bw + '" y="' + (y(p.median) - 1.5) + '" height="3" fill="' + lossColor(loss) + '"><title>' +
      new Date(p.t * 1000).toLocaleString() + ': median ' + fmtMs(p.median) + ', loss ' + fmtLoss(loss) + ' (' + p.received + '/' + p.sent + ')</title></rect>';
    if (loss !== null && loss > 0) svg += '<rect x="' + px + '" width="' + bw + '" y="' + (H - B - lossH * loss) + '" height="' + lossH * loss + '" fill="' + lossColor(loss) + '"/>';
  }
  const ticks = 6;
  for (let i = 0; i <= ticks; i++) {
    const t = t0 + ((t1 - t0) * i) / ticks;
    const d = new Date(t * 1000);
    const label = bucket >= 3600 ? d.toLocaleDateString() : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    const anchor = i === 0 ? 'start' : i === ticks ? 'end' : 'middle';
    svg += '<text x="' + x(t) + '" y="' + (H - 12) + '" class="axis" text-anchor="' + anchor + '">' + esc(label) + '</text>';
  }
  svg += '<text x="' + L + '" y="' + (H - B + 2) + '" class="axis">loss</text>';
  return svg + '</svg>';
}

$('#token').value = state.token;
$('#token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  state.token = $('#token').value.trim();
  localStorage.setItem('ping-agent-token', state.token);
  loadOverview();
});
$('#groups').addEventListener('click', (event) => {
  const button = event.target.closest('button[data-group]');
  if (!button) return;
  state.group = button.dataset.group;
  state.agent = null;
  state.ip = null;
  loadReport().catch(showError);
});
$('#report').addEventListener('click', (event) => {
  const cell = event.target.closest('td[data-agent]');
  if (!cell) return;
  state.agent = cell.dataset.agent;
  state.ip = cell.dataset.ip;
  loadHistory().catch(showError);
});
$('#ranges').addEventListener('click', (event) => {
  const button = event.target.closest('button[data-range]');
  if (!button || !state.agent) return;
  state.range = button.dataset.range;
  loadHistory().catch(showError);
});
if (state.token) loadOverview();
setInterval(() => { if (state.token && document.visibilityState === 'visible') loadOverview(); }, 30000);
`;
