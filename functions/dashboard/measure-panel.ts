// The dashboard's "measure now" panel: starts an on-demand measurement (POST /v1/measurements,
// which needs the read-write token) and shows each agent's figures per target as they come
// (GET with ?wait_s until done). Its script runs after the page's own and uses its helpers
// ($, esc, state, fmtMs, fmtLoss): both are inline scripts of one page.

export const measurePanelHtml = `<section id="measure">
      <h3>Measure now</h3>
      <form id="measure-form">
        <input id="measure-targets" placeholder="IPs or CIDR blocks; empty: the selected group" size="44">
        <input id="measure-agents" placeholder="agents, comma separated; empty: all online" size="28">
        <label>packets <input id="measure-count" type="number" min="1" max="100" value="3"></label>
        <label>every <input id="measure-interval" type="number" min="0" max="10000" value="100"> ms</label>
        <button>Measure</button>
      </form>
      <div id="measure-result"><p class="empty">Needs the read-write token.</p></div>
    </section>`;

export const measureScript = `
function measureRows(m) {
  let html = '<p><small>' + esc(m.id) + (m.done ? ', done' : ', waiting…') + '</small></p>' +
    '<table><thead><tr><th>agent</th><th>target</th><th>state</th><th>sent / received</th><th>loss</th><th>min / avg / max</th><th>notes</th></tr></thead><tbody>';
  for (const a of m.agents) {
    if (!a.results) {
      html += '<tr class="agent-state"><td>' + esc(a.name) + '</td><td></td><td>' + esc(a.state) + '</td><td colspan="4">' + esc(a.error || '') + '</td></tr>';
      continue;
    }
    for (const r of a.results) {
      const rtt = r.rtt_ms ? fmtMs(r.rtt_ms.min) + ' / ' + fmtMs(r.rtt_ms.avg) + ' / ' + fmtMs(r.rtt_ms.max) : '–';
      const notes = [];
      if (r.errors.unreachable) notes.push(r.errors.unreachable.count + ' unreachable from ' + r.errors.unreachable.from);
      if (r.errors.ttl_exceeded) notes.push(r.errors.ttl_exceeded.count + ' TTL exceeded at ' + r.errors.ttl_exceeded.from);
      if (r.late) notes.push(r.late + ' late');
      if (r.duplicates) notes.push(r.duplicates + ' duplicates');
      html += '<tr class="target"><td>' + esc(a.name) + '</td><td><code>' + esc(r.ip) + '</code></td><td>' + esc(a.state) + '</td><td>' +
        r.sent + ' / ' + r.received + '</td><td>' + fmtLoss(r.loss) + '</td><td>' + rtt + '</td><td>' + esc(notes.join(', ')) + '</td></tr>';
    }
  }
  return html + '</tbody></table>';
}

async function measureNow() {
  const out = $('#measure-result');
  const targets = $('#measure-targets').value.split(/[\\s,]+/).filter(Boolean);
  const agents = $('#measure-agents').value.split(/[\\s,]+/).filter(Boolean);
  const body = targets.length > 0 ? { targets } : { group: state.group };
  if (agents.length > 0) body.agents = agents;
  body.count = Number($('#measure-count').value);
  body.interval_ms = Number($('#measure-interval').value);
  out.innerHTML = '<p class="empty">asking…</p>';
  const headers = { authorization: 'Bearer ' + state.token, 'content-type': 'application/json' };
  const posted = await fetch('/v1/measurements', { method: 'POST', headers, body: JSON.stringify(body) });
  const accepted = await posted.json().catch(() => ({}));
  if (posted.status !== 202) {
    out.innerHTML = '<p class="status bad">' + posted.status + ' ' + esc((accepted.error && accepted.error.message) || posted.statusText) + '</p>';
    return;
  }
  for (;;) {
    const m = await api('/v1/measurements/' + encodeURIComponent(accepted.id) + '?wait_s=10');
    out.innerHTML = measureRows(m);
    if (m.done) return;
  }
}

$('#measure-form').addEventListener('submit', (event) => {
  event.preventDefault();
  measureNow().catch((error) => { $('#measure-result').innerHTML = '<p class="status bad">' + esc(error.message) + '</p>'; });
});
`;
