import { Hono } from 'hono';

// The baseline for bench/api.ts: a bare Hono route on the same runtime (wrangler dev), no auth,
// no Redis. What the API's routes cost is measured against what merely answering costs.

const app = new Hono();
app.get('/v1/ping', (c) => c.json({ ok: true }));

export default app;
