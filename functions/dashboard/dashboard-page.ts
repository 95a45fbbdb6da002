import { alertsPanelHtml } from './alerts-panel.ts';
import { dashboardScript } from './dashboard-script.generated.js';
import { measurePanelHtml } from './measure-panel.ts';

// /dashboard: groups, agents, every agent's view of a group, one IP's latency and loss over time,
// and alert rules with their deliveries. A static page: everything it shows comes from the API with the user's own token. Its one
// script is browser/ (TypeScript) bundled by scripts/build-dashboard.ts.

export function dashboardPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ping-agent dashboard</title>
<style>
  :root { color-scheme: light; --line: #d0d7de; --muted: #57606a; }
  body { font: 14px/1.45 system-ui, sans-serif; margin: 0; color: #1b1f24; background: #f6f8fa; }
  header { display: flex; gap: 1rem; align-items: center; padding: .6rem 1.2rem; background: #fff; border-bottom: 1px solid var(--line); }
  header h1 { font-size: 1.1rem; margin: 0; flex: 1; }
  header input { width: 18rem; padding: .3rem .5rem; border: 1px solid var(--line); border-radius: 4px; }
  .status { color: var(--muted); font-size: 12px; } .status.bad { color: #cf222e; }
  .layout { display: grid; grid-template-columns: 15rem 1fr; gap: 1rem; padding: 1rem 1.2rem; }
  aside section, main section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem; margin-bottom: 1rem; }
  h2, h3 { font-size: 1rem; margin: .2rem 0 .6rem; }
  ul { list-style: none; padding: 0; margin: 0; } li { margin: .25rem 0; }
  button { font: inherit; border: 1px solid var(--line); background: #fff; border-radius: 4px; padding: .2rem .5rem; cursor: pointer; }
  #groups button { width: 100%; text-align: left; } button.on { background: #ddf4ff; border-color: #54aeff; }
  small { color: var(--muted); }
  .dot { display: inline-block; width: .6rem; height: .6rem; border-radius: 50%; margin-right: .4rem; vertical-align: middle; }
  .dot.up { background: #1a7f37; } .dot.down { background: #8c959f; }
  table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #eaeef2; }
  td.cell { cursor: pointer; } td.cell.on { background: #ddf4ff; } td.none { color: var(--muted); cursor: default; }
  svg { width: 100%; height: auto; } .grid { stroke: #eaeef2; } .axis { font-size: 11px; fill: var(--muted); }
  .band-outer { fill: #b6e3ff; } .band-inner { fill: #54aeff; opacity: .55; } .empty { color: var(--muted); }
  #ranges { float: right; }
  #measure-form { display: flex; flex-wrap: wrap; gap: .4rem; margin-bottom: .6rem; } #measure-form input[type=number] { width: 4.5rem; }
  .phase { border-radius: 4px; padding: 0 .4rem; font-weight: 600; } .phase.ok { background: #dafbe1; color: #1a7f37; }
  .phase.pending { background: #fff8c5; color: #9a6700; } .phase.firing { background: #ffebe9; color: #cf222e; }
  .phase.resolved { background: #ddf4ff; color: #0969da; } tr.rule.on { background: #ddf4ff; } tr.delivery.gave_up td { color: #cf222e; }
  #alert-rules button, #alert-log time { white-space: nowrap; }
</style>
</head>
<body>
<header>
  <h1>ping-agent</h1>
  <span id="status" class="status">paste a token to start</span>
  <form id="token-form"><input id="token" type="password" placeholder="API or read-only token" autocomplete="off"> <button>Load</button></form>
</header>
<div class="layout">
  <aside>
    <section><h3>Groups</h3><ul id="groups"></ul></section>
    <section><h3>Agents</h3><ul id="agents"></ul></section>
  </aside>
  <main>
    <section id="report"><p class="empty">Pick a group.</p></section>
    <section>
      <span id="ranges"><button data-range="1h" class="on">1 h</button> <button data-range="24h">24 h</button> <button data-range="30d">30 d</button></span>
      <h3 id="graph-title">Latency and loss</h3>
      <div id="graph"><p class="empty">Pick an IP in the table.</p></div>
      <small>Bands: 10th–90th and 25th–75th percentile RTT; line: median, coloured by loss; bars: loss.</small>
    </section>
    ${measurePanelHtml}
    ${alertsPanelHtml}
  </main>
</div>
<script>${dashboardScript}</script>
</body>
</html>`;
}
