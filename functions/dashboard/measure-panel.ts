// The dashboard's "measure now" panel: starts an on-demand measurement (POST /v1/measurements,
// which needs the read-write token) and shows each agent's figures per target as they come
// (GET with ?wait_s until done). Its markup; its code is browser/measure-panel.ts.

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
