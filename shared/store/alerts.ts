import {
  type AlertRule,
  type AlertState,
  alertStateSchema,
  type Delivery,
  type DeliveryLog,
  deliveryLogSchema,
  deliverySchema,
  type Notifier,
  storedNotifierSchema,
  storedRuleSchema,
} from '../alert-schema.ts';
import { parseStored, parseStoredOrNull, StoredValueError } from '../schema.ts';
import { type StoreContext, sortedStrings } from './context.ts';

// Alert rules, notifiers, rule states, the delivery outbox and the delivery log.
//
// Upstash's REST API keeps no WATCH across requests, so nothing here reads, decides and writes
// under a lock. Instead every decision that must be made once is a key written with SET NX:
//   - a rule's next state is `alert-transition_{rule}_{id}.{version}`; the evaluation whose SET NX
//     succeeds made the transition, every other one adopts what is stored there;
//   - the current version is the rule's score in `alert-states`, raised with ZADD GT, so a slow
//     evaluation can never move it back;
//   - a delivery is `alert-delivery_{id}` (SET NX, kept after it is sent, so a late evaluation cannot
//     queue it again), sent only by whoever holds `alert-lease_{id}` (SET NX PX).

/** How long a superseded state, and a finished delivery, stay readable for late evaluations. */
const KEEP_SECONDS = 7 * 86_400;
/** Lines kept in a rule's delivery log. */
export const DELIVERY_LOG_LENGTH = 50;

export interface RuleWithState {
  rule: AlertRule;
  state: AlertState | null;
  /** A state a racing evaluation claimed after the current one but did not finish recording. */
  claimed: AlertState | null;
}

export function alertStore({ redis, keys }: StoreContext) {
  const transitionKey = (rule: AlertRule, version: number) =>
    keys.alertTransition(rule.name, `${rule.id}.${version}`);

  return {
    /** Every rule that parses; a hand-written one that does not is reported and left alone. */
    async rules(): Promise<{ rules: AlertRule[]; problems: { name: string; problem: string }[] }> {
      const names = sortedStrings(await redis.smembers(keys.alertList()));
      if (names.length === 0) return { rules: [], problems: [] };
      const raws = await redis.mget<(string | null)[]>(...names.map((n) => keys.alertRule(n)));
      const rules: AlertRule[] = [];
      const problems: { name: string; problem: string }[] = [];
      names.forEach((name, i) => {
        try {
          const rule = parseStored(storedRuleSchema, raws[i], keys.alertRule(name));
          if (rule) rules.push(rule);
        } catch (error) {
          if (!(error instanceof StoredValueError)) throw error;
          problems.push({ name, problem: error.message });
        }
      });
      return { rules, problems };
    },

    async rule(name: string): Promise<AlertRule | null> {
      return parseStored(storedRuleSchema, await redis.get(keys.alertRule(name)), keys.alertRule(name));
    },

    /** The rule, or null when there is none or its stored value does not parse (a hand edit);
     * a Redis failure still throws, so it is never taken for a missing rule. */
    async ruleIfReadable(name: string): Promise<AlertRule | null> {
      return parseStoredOrNull(storedRuleSchema, await redis.get(keys.alertRule(name)), keys.alertRule(name));
    },

    /** One SISMEMBER: true for a listed rule, even one whose value does not parse. */
    async hasRule(name: string): Promise<boolean> {
      return Number(await redis.sismember(keys.alertList(), name)) === 1;
    },

    async putRule(rule: AlertRule): Promise<void> {
      const p = redis.multi();
      p.set(keys.alertRule(rule.name), JSON.stringify(rule));
      p.sadd(keys.alertList(), rule.name);
      await p.exec();
    },

    /** Removes the rule, its state and its log; false when there was no such rule. */
    async deleteRule(name: string): Promise<boolean> {
      // The rule (for its transition keys) and its version, in one request.
      const read = redis.pipeline();
      read.get(keys.alertRule(name));
      read.zscore(keys.alertStates(), name);
      const [raw, score] = (await read.exec()) as [unknown, unknown];
      const rule = parseStoredOrNull(storedRuleSchema, raw, keys.alertRule(name));
      const version = Number(score ?? 0);
      const p = redis.multi();
      p.del(keys.alertRule(name), keys.alertLog(name));
      p.srem(keys.alertList(), name);
      p.zrem(keys.alertStates(), name);
      if (rule) p.del(transitionKey(rule, version), transitionKey(rule, version + 1));
      const [removed] = (await p.exec()) as [number];
      return Number(removed) > 0;
    },

    /** Each rule's current state and, when one was claimed and not yet recorded, the next. */
    async states(rules: readonly AlertRule[]): Promise<RuleWithState[]> {
      if (rules.length === 0) return [];
      const p = redis.pipeline();
      for (const rule of rules) p.zscore(keys.alertStates(), rule.name);
      const versions = ((await p.exec()) as unknown[]).map((v) => (v === null ? 0 : Number(v)));
      const stateKeys = rules.flatMap((rule, i) => [
        transitionKey(rule, versions[i]!),
        transitionKey(rule, versions[i]! + 1),
      ]);
      const raws = await redis.mget<(string | null)[]>(...stateKeys);
      return rules.map((rule, i) => ({
        rule,
        state: readState(raws[i * 2], stateKeys[i * 2]!),
        claimed: readState(raws[i * 2 + 1], stateKeys[i * 2 + 1]!),
      }));
    },

    /**
     * Claims `next` as the rule's state of its version: true when this call wrote it, false when
     * another evaluation had; `winner` is the state stored either way.
     */
    async claim(rule: AlertRule, next: AlertState): Promise<{ won: boolean; winner: AlertState }> {
      const key = transitionKey(rule, next.version);
      const wrote = await redis.set(key, JSON.stringify(next), { nx: true });
      if (wrote !== null) return { won: true, winner: next };
      const winner = readState(await redis.get(key), key);
      return { won: false, winner: winner ?? next };
    },

    /**
     * Records a claimed state as current and queues its deliveries. Every step is idempotent (ZADD
     * GT, SET NX, ZADD NX), so evaluations that adopt a claim repeat it safely.
     */
    async advance(rule: AlertRule, state: AlertState, deliveries: Delivery[], nowMs: number): Promise<void> {
      const p = redis.pipeline();
      for (const d of deliveries) {
        p.set(keys.alertDelivery(d.id), JSON.stringify(d), { nx: true });
        p.zadd(keys.alertOutbox(), { nx: true }, { score: nowMs, member: d.id });
      }
      p.zadd(keys.alertStates(), { gt: true }, { score: state.version, member: rule.name });
      if (state.version > 1) p.expire(transitionKey(rule, state.version - 1), KEEP_SECONDS);
      await p.exec();
    },

    /** Delivery ids due by `nowMs`, oldest first. */
    async due(nowMs: number, limit: number): Promise<string[]> {
      const ids = await redis.zrange(keys.alertOutbox(), '-inf', nowMs, {
        byScore: true,
        offset: 0,
        count: limit,
      });
      return (ids as unknown[]).map(String);
    },

    /** Takes the lease on a delivery; null when another invocation holds it or it is no longer due. */
    async lease(id: string, nowMs: number, leaseMs: number): Promise<Delivery | null> {
      const taken = await redis.set(keys.alertLease(id), String(nowMs), { nx: true, px: leaseMs });
      if (taken === null) return null;
      const p = redis.pipeline();
      p.zscore(keys.alertOutbox(), id);
      p.get(keys.alertDelivery(id));
      const [score, raw] = (await p.exec()) as [unknown, unknown];
      const delivery = readDelivery(raw, keys.alertDelivery(id));
      // Sent or rescheduled by another invocation between our read of the outbox and the lease.
      if (score === null || Number(score) > nowMs || !delivery || delivery.done) {
        const q = redis.pipeline();
        if (score !== null && (!delivery || delivery.done)) q.zrem(keys.alertOutbox(), id);
        q.del(keys.alertLease(id));
        await q.exec();
        return null;
      }
      return delivery;
    },

    /** Ends a leased delivery: done (sent or given up), or due again at `retryAtMs`. */
    async settle(
      delivery: Delivery,
      attempts: number,
      logs: DeliveryLog[],
      outcome: { done: true } | { done: false; retryAtMs: number },
    ): Promise<void> {
      const p = redis.pipeline();
      const updated = { ...delivery, attempts, done: outcome.done };
      if (outcome.done) {
        p.set(keys.alertDelivery(delivery.id), JSON.stringify(updated), { ex: KEEP_SECONDS });
        p.zrem(keys.alertOutbox(), delivery.id);
      } else {
        p.set(keys.alertDelivery(delivery.id), JSON.stringify(updated));
        p.zadd(keys.alertOutbox(), { xx: true }, { score: outcome.retryAtMs, member: delivery.id });
      }
      if (logs.length > 0) {
        p.lpush(keys.alertLog(delivery.rule), ...logs.map((l) => JSON.stringify(l)));
        p.ltrim(keys.alertLog(delivery.rule), 0, DELIVERY_LOG_LENGTH - 1);
      }
      p.del(keys.alertLease(delivery.id));
      await p.exec();
    },

    /** The rule's delivery log, newest first; lines that do not parse are left out. */
    async log(name: string): Promise<DeliveryLog[]> {
      const raws = (await redis.pipeline().lrange(keys.alertLog(name), 0, -1).exec())[0] as unknown[];
      return (raws ?? []).flatMap((raw) => {
        const line = parseStoredOrNull(deliveryLogSchema, raw, keys.alertLog(name));
        return line ? [line] : [];
      });
    },

    async notifierNames(): Promise<string[]> {
      return sortedStrings(await redis.smembers(keys.notifierList()));
    },

    async notifiers(names: readonly string[]): Promise<Map<string, Notifier>> {
      const out = new Map<string, Notifier>();
      if (names.length === 0) return out;
      const raws = await redis.mget<(string | null)[]>(...names.map((n) => keys.notifier(n)));
      names.forEach((name, i) => {
        const n = parseStoredOrNull(storedNotifierSchema, raws[i], keys.notifier(name));
        if (n) out.set(name, n);
      });
      return out;
    },

    async putNotifier(name: string, notifier: Notifier): Promise<void> {
      const p = redis.multi();
      p.set(keys.notifier(name), JSON.stringify(notifier));
      p.sadd(keys.notifierList(), name);
      await p.exec();
    },

    async deleteNotifier(name: string): Promise<boolean> {
      const p = redis.multi();
      p.del(keys.notifier(name));
      p.srem(keys.notifierList(), name);
      const [removed, unlisted] = (await p.exec()) as [number, number];
      return Number(removed) + Number(unlisted) > 0;
    },
  };
}

export type AlertStore = ReturnType<typeof alertStore>;

function readState(raw: unknown, key: string): AlertState | null {
  return parseStoredOrNull(alertStateSchema, raw, key);
}

function readDelivery(raw: unknown, key: string): (Delivery & { done?: boolean }) | null {
  return parseStoredOrNull(deliverySchema, raw, key) as (Delivery & { done?: boolean }) | null;
}
