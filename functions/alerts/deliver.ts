import type { Delivery, DeliveryLog, Notifier } from '../../shared/alert-schema.ts';
import type { AlertStore } from '../../shared/store/alerts.ts';
import { signedHeaders } from '../webhooks/sign-outbound.ts';
import { type AlertEvent, slackMessage } from './messages.ts';
import { urlTarget } from './notifier-url.ts';

// Sends what the outbox holds. Each delivery is sent by the one invocation holding its lease; a
// failure is retried a few times within the invocation (1 s, then 2 s later, while its budget
// lasts), then at later invocations with a doubling delay, and given up after MAX_ROUNDS. Every
// attempt is a line in the rule's delivery log. The webhook-id is the delivery's id, the same on
// every retry; the timestamp and signature are the attempt's own.

const DELIVERY_POLICY = {
  /** Attempts an invocation makes before leaving the delivery to a later one, and the waits between. */
  waitsMs: [1_000, 2_000],
  /** Invocations that try a delivery before it is given up. */
  maxRounds: 8,
  /** Longest wait between invocations' rounds. */
  maxRetryDelayMs: 3_600_000,
  attemptTimeoutMs: 5_000,
  /** Longer than an invocation holds a delivery (attempts and waits), so no second sender starts. */
  leaseMs: 60_000,
  /** Deliveries one invocation takes from the outbox. */
  batch: 50,
} as const;

export interface DeliveryOptions {
  now: () => number;
  /** Time (ms) after which no new attempt starts. */
  deadlineMs: number;
  /** Delay before the first later round; doubles each round. */
  retryBaseMs: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
}

export interface DeliveryReport {
  delivered: number;
  retrying: number;
  gaveUp: number;
}

type RoundDelivery = Delivery & { rounds?: number };

export async function deliverDue(alerts: AlertStore, options: DeliveryOptions): Promise<DeliveryReport> {
  const report: DeliveryReport = { delivered: 0, retrying: 0, gaveUp: 0 };
  const ids = await alerts.due(options.now(), DELIVERY_POLICY.batch);
  const leased = await Promise.all(
    ids.map(
      (id) => alerts.lease(id, options.now(), DELIVERY_POLICY.leaseMs) as Promise<RoundDelivery | null>,
    ),
  );
  const deliveries = leased.filter((d): d is RoundDelivery => d !== null);
  if (deliveries.length === 0) return report;
  // One read of the notifiers the batch names, however many deliveries share them.
  const notifiers = await alerts.notifiers([...new Set(deliveries.map((d) => d.notifier))]);
  await Promise.all(
    deliveries.map(async (delivery) => {
      const outcome = await deliverOne(alerts, delivery, notifiers.get(delivery.notifier), options);
      report[outcome]++;
    }),
  );
  return report;
}

async function deliverOne(
  alerts: AlertStore,
  delivery: RoundDelivery,
  notifier: Notifier | undefined,
  options: DeliveryOptions,
): Promise<keyof DeliveryReport> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const rounds = (delivery.rounds ?? 0) + 1;
  const logs: DeliveryLog[] = [];
  let attempts = delivery.attempts;
  const line = (
    status: number | null,
    outcome: DeliveryLog['outcome'],
    error: string | null,
  ): DeliveryLog => ({
    at: new Date(options.now()).toISOString(),
    delivery_id: delivery.id,
    event: delivery.event.type,
    notifier: delivery.notifier,
    target: notifier ? urlTarget(notifier.url) : '(deleted)',
    attempt: attempts,
    status,
    outcome,
    error,
  });
  if (!notifier) {
    attempts++;
    logs.push(line(null, 'gave_up', `the notifier ${delivery.notifier} no longer exists`));
    await alerts.settle(delivery, attempts, logs, { done: true });
    return 'gaveUp';
  }
  for (let inRound = 0; ; inRound++) {
    attempts++;
    const { status, error } = await attempt(notifier, delivery, options);
    if (error === null) {
      logs.push(line(status, 'delivered', null));
      await alerts.settle(delivery, attempts, logs, { done: true });
      return 'delivered';
    }
    const wait = DELIVERY_POLICY.waitsMs[inRound];
    const roomLeft =
      wait !== undefined && options.now() + wait + DELIVERY_POLICY.attemptTimeoutMs <= options.deadlineMs;
    if (!roomLeft && rounds >= DELIVERY_POLICY.maxRounds) {
      logs.push(line(status, 'gave_up', `${error}; gave up after ${attempts} attempts`));
      await alerts.settle(delivery, attempts, logs, { done: true });
      return 'gaveUp';
    }
    logs.push(line(status, 'retrying', error));
    if (!roomLeft) {
      const delay = Math.min(options.retryBaseMs * 2 ** (rounds - 1), DELIVERY_POLICY.maxRetryDelayMs);
      await alerts.settle({ ...delivery, rounds } as Delivery, attempts, logs, {
        done: false,
        retryAtMs: options.now() + delay,
      });
      return 'retrying';
    }
    await sleep(wait!);
  }
}

/** One POST; error is null when the receiver answered 2xx. */
async function attempt(
  notifier: Notifier,
  delivery: Delivery,
  options: DeliveryOptions,
): Promise<{ status: number | null; error: string | null }> {
  const event = delivery.event as unknown as AlertEvent;
  const body = JSON.stringify(notifier.type === 'slack' ? slackMessage(event) : event);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'ping-agent-alerts/1',
  };
  if (notifier.type === 'webhook') {
    Object.assign(
      headers,
      await signedHeaders(notifier.secret, delivery.id, Math.floor(options.now() / 1000), body),
    );
  }
  try {
    // Redirects are not followed: the URL was checked when the notifier was saved, a redirect's
    // target was not.
    const res = await (options.fetch ?? fetch)(notifier.url, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(DELIVERY_POLICY.attemptTimeoutMs),
    });
    await res.body?.cancel();
    if (res.status >= 200 && res.status < 300) return { status: res.status, error: null };
    return { status: res.status, error: `the receiver answered ${res.status}` };
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    if (name === 'TimeoutError' || name === 'AbortError') {
      return { status: null, error: `no answer within ${DELIVERY_POLICY.attemptTimeoutMs} ms` };
    }
    return {
      status: null,
      error: `could not connect: ${error instanceof Error ? error.message : String(error)}`.slice(0, 300),
    };
  }
}
