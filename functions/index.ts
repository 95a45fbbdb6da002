// The Worker entry: wrangler.toml's `main`. HTTP requests go to the Hono app; the Cron Trigger
// evaluates alert rules and sends their notifications.
import { runAlerts } from './alerts/scheduled.ts';
import { app } from './app.ts';
import type { Bindings } from './env.ts';

export default {
  fetch: app.fetch,
  // The runtime's ScheduledController and ExecutionContext, as far as they are used here.
  async scheduled(_controller: unknown, env: Bindings, ctx: { waitUntil(promise: Promise<unknown>): void }) {
    ctx.waitUntil(runAlerts(env));
  },
};
