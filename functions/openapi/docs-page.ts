// /docs: a self-contained page (no CDN: it must work offline and under a strict CSP) that reads
// /openapi.json and lists every route with its parameters, body and answers.

export function docsPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ping-agent API</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1b1f24; }
  h1 { font-size: 1.6rem; } h2 { font-size: 1.1rem; margin-top: 2rem; text-transform: capitalize; }
  details { border: 1px solid #d0d7de; border-radius: 6px; margin: .4rem 0; padding: .4rem .7rem; }
  summary { cursor: pointer; } code, pre { font: 13px ui-monospace, monospace; }
  pre { background: #f6f8fa; padding: .6rem; overflow: auto; border-radius: 4px; }
  .m { display: inline-block; min-width: 4.2rem; font-weight: 600; text-transform: uppercase; }
  .get { color: #1a7f37; } .put, .patch { color: #9a6700; } .post { color: #0969da; } .delete { color: #cf222e; }
</style>
</head>
<body>
<h1>ping-agent API</h1>
<p>Generated from <a href="/openapi.json">/openapi.json</a>. Send <code>Authorization: Bearer &lt;token&gt;</code>
(API_TOKEN to read and write, READ_TOKEN to read); webhooks are signed instead.</p>
<main id="routes">Loading…</main>
<script>
const esc = (s) => String(s).replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]);
const pretty = (v) => '<pre>' + esc(JSON.stringify(v, null, 2)) + '</pre>';
fetch('/openapi.json').then((r) => r.json()).then((spec) => {
  const byTag = {};
  for (const [path, ops] of Object.entries(spec.paths || {})) {
    for (const [method, op] of Object.entries(ops)) {
      const tag = (op.tags && op.tags[0]) || 'other';
      (byTag[tag] = byTag[tag] || []).push({ path, method, op });
    }
  }
  let html = '';
  for (const [tag, list] of Object.entries(byTag)) {
    html += '<h2>' + esc(tag) + '</h2>';
    for (const { path, method, op } of list) {
      html += '<details><summary><span class="m ' + method + '">' + method + '</span> <code>' + esc(path) +
        '</code> ' + esc(op.summary || '') + '</summary>';
      if (op.parameters && op.parameters.length) {
        html += '<p>Parameters:</p><ul>' + op.parameters.map((p) => '<li><code>' + esc(p.name) + '</code> (' + esc(p.in) +
          (p.required ? ', required' : '') + ')' + (p.description ? ': ' + esc(p.description) : '') + '</li>').join('') + '</ul>';
      }
      if (op.requestBody) html += '<p>Body:</p>' + pretty(op.requestBody.content);
      html += '<p>Answers:</p><ul>' + Object.entries(op.responses || {}).map(([code, r]) =>
        '<li><code>' + esc(code) + '</code> ' + esc(r.description || '') + '</li>').join('') + '</ul></details>';
    }
  }
  html += '<h2>Schemas</h2>' + pretty((spec.components || {}).schemas || {});
  document.getElementById('routes').innerHTML = html;
}).catch((e) => { document.getElementById('routes').textContent = 'Could not load /openapi.json: ' + e; });
</script>
</body>
</html>`;
}
