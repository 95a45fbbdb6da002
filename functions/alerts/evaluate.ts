import type {
  AlertFailing,
  AlertRule,
  AlertState,
  Delivery,
  GroupRule,
  Observation,
} from '../../shared/alert-schema.ts';
import type { AlertStore } from '../../shared/store/alerts.ts';
import type { Store } from '../../shared/store.ts';
import { type LocatedFailing, locateFaults } from '../check/fault-site.ts';
import { groupVerdict } from '../check/group-verdict.ts';
import { limitsOf } from '../check/verdict.ts';
import { alertEvent } from './messages.ts';
import { initialState, nextState } from './state-machine.ts';

// One evaluation of every rule: observe, step the state machine, and make the transition only if
// this evaluation wins its claim (store/alerts.ts). An evaluation that loses adopts the winner's
// state and repeats its bookkeeping, which is idempotent; so two evaluations racing, or one
// retried, make each transition once and queue each notification once.
//
// A group rule fails exactly when /v1/check with the rule's limits would answer 412, and is judged
// the same way: from the agents' summaries when they can answer, from every status otherwise.

/** Failing entries a notification lists; the count has them all. */
const WORST_LISTED = 5;
const DIAGNOSIS_LISTED = 5;

export interface Transition {
  rule: string;
  from: AlertState['phase'];
  to: AlertState['phase'];
  version: number;
  /** False when another evaluation had claimed the same transition first. */
  won: boolean;
}

export interface EvaluationReport {
  rules: number;
  transitions: Transition[];
  problems: string[];
}

export async function evaluateAlerts(
  store: Store,
  alerts: AlertStore,
  nowMs: number,
): Promise<EvaluationReport> {
  const { rules, problems } = await alerts.rules();
  const states = await alerts.states(rules);
  const observe = observer(store, nowMs);
  const transitions: Transition[] = [];
  const messages = problems.map((p) => `rule ${p.name}: ${p.problem}`);
  await Promise.all(
    states.map(async ({ rule, state, claimed }) => {
      try {
        let current = state ?? initialState(rule.id);
        if (claimed) {
          await alerts.advance(rule, claimed, deliveriesOf(rule, claimed, nowMs), nowMs);
          current = claimed;
        }
        const seen = await observe(rule);
        // A lost claim means another evaluation moved the rule on; step again from its state, a
        // bounded number of times.
        for (let round = 0; round < 3; round++) {
          const next = nextState(current, seen, rule.for_s, nowMs);
          if (!next) break;
          const { won, winner } = await alerts.claim(rule, next);
          await alerts.advance(rule, winner, deliveriesOf(rule, winner, nowMs), nowMs);
          transitions.push({
            rule: rule.name,
            from: current.phase,
            to: winner.phase,
            version: winner.version,
            won,
          });
          current = winner;
          if (won) break;
        }
      } catch (error) {
        messages.push(`rule ${rule.name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }),
  );
  return { rules: rules.length, transitions, problems: messages };
}

/** The notifications a state announces: one per notifier, ids stable for that transition. */
function deliveriesOf(rule: AlertRule, state: AlertState, nowMs: number): Delivery[] {
  if (!state.event) return [];
  const event = alertEvent(rule, state);
  return rule.notify.map((notifier) => ({
    id: `${rule.id}.${state.version}.${notifier}`,
    rule: rule.name,
    notifier,
    attempts: 0,
    created_ms: nowMs,
    event: event as unknown as Delivery['event'],
  }));
}

/** Observes rules, reading each group once per evaluation however many rules name it. */
function observer(store: Store, nowMs: number) {
  const summaryReads = new Map<string, ReturnType<Store['groupView']['readSummaries']>>();
  const fullReads = new Map<string, ReturnType<Store['groupView']['readAfterSummaries']>>();
  const once = <T>(cache: Map<string, T>, key: string, read: () => T): T => {
    if (!cache.has(key)) cache.set(key, read());
    return cache.get(key)!;
  };

  async function observeGroup(rule: GroupRule): Promise<Observation> {
    const limits = limitsOf(rule);
    const fast = await once(summaryReads, rule.group, () => store.groupView.readSummaries(rule.group));
    if (!fast) return noGroup(rule.group);
    const agents = rule.agents ? fast.agents.filter((a) => rule.agents!.includes(a.name)) : fast.agents;
    // What the summaries' read fetched is reused, so the fallback costs the members' and the
    // statuses' trips rather than a whole second read of the group.
    const readAll = () => once(fullReads, rule.group, () => store.groupView.readAfterSummaries(fast));
    const { verdict: result } = await groupVerdict(fast, limits, nowMs, readAll, { agents });
    const located = locateFaults(result.failing, agents, fast.rollups, nowMs);
    return {
      failing: !result.ok,
      failing_count: result.failing.length,
      worst: worstOf(located.failing),
      diagnosis: located.diagnosis.slice(0, DIAGNOSIS_LISTED),
    };
  }

  // Every registered agent's heartbeat, read once per evaluation for all offline rules; an agent a
  // rule names that is not registered is read on its own.
  let registered: Promise<Map<string, boolean>> | undefined;
  const onlineByName = async (names: readonly string[]) =>
    new Map((await store.agents.summaries(names)).map((a) => [a.name, a.online]));

  async function observeOffline(rule: Extract<AlertRule, { type: 'agent_offline' }>): Promise<Observation> {
    registered ??= store.agents.names().then(onlineByName);
    const known = await registered;
    const names = rule.agents ?? [...known.keys()];
    const unknown = names.filter((name) => !known.has(name));
    const others = unknown.length > 0 ? await onlineByName(unknown) : known;
    const offline = names.filter((name) => !(known.get(name) ?? others.get(name)));
    return {
      failing: offline.length > 0,
      failing_count: offline.length,
      worst: offline.slice(0, WORST_LISTED).map((agent) => ({
        agent,
        ip: null,
        reason: 'offline',
        loss: null,
        rtt_ms: null,
        likely_cause: 'agent',
      })),
      diagnosis: offline.slice(0, DIAGNOSIS_LISTED).map((agent) => `${agent} is offline: no heartbeat`),
    };
  }

  return (rule: AlertRule) => (rule.type === 'group' ? observeGroup(rule) : observeOffline(rule));
}

function noGroup(group: string): Observation {
  return { failing: true, failing_count: 0, worst: [], diagnosis: [`there is no group named ${group}`] };
}

/** The entries a reader should see first: highest loss, then highest RTT, then the rest. */
function worstOf(failing: readonly LocatedFailing[]): AlertFailing[] {
  const rank = (f: LocatedFailing) => [f.loss ?? -1, f.rtt_ms ?? -1] as const;
  return [...failing]
    .sort((a, b) => {
      const [la, ra] = rank(a);
      const [lb, rb] = rank(b);
      return lb - la || rb - ra;
    })
    .slice(0, WORST_LISTED)
    .map(({ agent, ip, reason, loss, rtt_ms, likely_cause }) => ({
      agent,
      ip,
      reason,
      loss,
      rtt_ms,
      likely_cause,
    }));
}
