import { alertStore } from '../../shared/store/alerts.ts';
import { alertBindings, type Bindings, storeFromBindings } from '../env.ts';
import { type DeliveryReport, deliverDue } from './deliver.ts';
import { type EvaluationReport, evaluateAlerts } from './evaluate.ts';

// The Worker's scheduled handler (a Cron Trigger every minute, see wrangler.toml): evaluate every
// rule, then send what is due, within a budget well inside what a Cron invocation may run.

/** How long an invocation keeps starting delivery attempts. */
const DELIVERY_BUDGET_MS = 20_000;

export async function runAlerts(
  env: Bindings,
  now: () => number = Date.now,
): Promise<{ evaluation: EvaluationReport; delivery: DeliveryReport }> {
  const store = storeFromBindings(env);
  const alerts = alertStore(store);
  const { retryBaseMs } = alertBindings(env);
  const started = now();
  const evaluation = await evaluateAlerts(store, alerts, started);
  for (const problem of evaluation.problems) console.warn(`alerts: ${problem}`);
  const delivery = await deliverDue(alerts, { now, deadlineMs: started + DELIVERY_BUDGET_MS, retryBaseMs });
  return { evaluation, delivery };
}
