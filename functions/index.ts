// The Worker entry: wrangler.toml's `main`. HTTP requests go to the Hono app; the Cron Trigger
// evaluates alert rules and sends their notifications.
import { runAlerts } from './alerts/scheduled.ts';
import { app } from './app.ts';
import type { Bindings } from './env.ts';

export default {
  fetch: app.fetch,
  // The runtime's ScheduledController and ExecutionContext, as far as they are used here.
  // Awaited rather than left to waitUntil: the invocation lasts as long as its deliveries, and a
  // local trigger (wrangler's /__scheduled) answers once they are done.
  async scheduled(_controller: unknown, env: Bindings) {
    await runAlerts(env);
  },
};
