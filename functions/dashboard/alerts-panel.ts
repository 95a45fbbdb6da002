// The dashboard's alerts panel: rules with their states, and the picked rule's delivery log. Its
// markup; its code is browser/alerts-panel.ts.

export const alertsPanelHtml = `<section id="alerts">
      <h3>Alerts</h3>
      <div id="alert-rules"><p class="empty">Paste a token to see the rules.</p></div>
      <h3 id="alert-log-title">Deliveries</h3>
      <div id="alert-log"><p class="empty">Pick a rule.</p></div>
    </section>`;
