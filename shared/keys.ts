// The one place a Redis key is spelled. The seed's schema is kept exactly:
//
//   agent-list  agent-online_{agent}  agent-err-list_{agent}  agent-jobs_{agent}
//   agent_{agent}_{job}  groups-list  group_{group}  ip_{agent}_{ip}
//
// New keys follow the same style (`word-word_{part}_{part}`). An optional namespace prefix lets
// several deployments share one database; it is empty by default, so the default layout is the
// seed's to the letter.

export interface KeySchema {
  readonly prefix: string;
  /** set: every agent name ever registered */
  agentList(): string;
  /** string with expiry: the agent's heartbeat (its expiry means offline) */
  agentOnline(agent: string): string;
  /** set: IPs that lost packets and are not clean again yet */
  agentErrList(agent: string): string;
  /** set: the agent's job names */
  agentJobs(agent: string): string;
  /** string: the job, `{"SPEC", "name", "group"}` */
  agentJob(agent: string, job: string): string;
  /** set: group names */
  groupsList(): string;
  /** set: the group's IPs */
  group(group: string): string;
  /** string with expiry: the agent's latest status of one IP */
  ipStatus(agent: string, ip: string): string;
  /** integer: bumped by the API on every change of groups or jobs, polled by agents */
  configVersion(): string;
  /** sorted set: per-minute aggregates of one IP seen from one agent, scored by minute start */
  ipMinutes(agent: string, ip: string): string;
  /** sorted set: per-hour aggregates, scored by hour start */
  ipHours(agent: string, ip: string): string;
  /** string: one packed block of per-minute points, slot `slot` of the IP's ring (overwritten, no expiry) */
  ipMinuteBlock(agent: string, ip: string, slot: number): string;
  /** string: one packed day of per-hour points, slot `slot` of the IP's ring (overwritten, no expiry) */
  ipHourBlock(agent: string, ip: string, slot: number): string;
  /** pub/sub channel: the API publishes `changed` on it with every config change, and `{"type": "measurement", ...}` with each new measurement */
  configChannel(): string;
  /** string with expiry: a webhook delivery id already accepted (replay protection) */
  webhookSeen(id: string): string;
  /** set with expiry: a large group being written before it is renamed over `group_{group}` */
  groupStaging(group: string, token: string): string;
  /** string: the membership digest of `group_{group}`, written by the API with every group write */
  groupDigest(group: string): string;
  /** string: one agent's summary of one group (figures, membership digest, time), for the check */
  groupSummary(agent: string, group: string): string;
  /** string: one agent's roll-up over all its targets, to tell its own link from its targets */
  agentSummary(agent: string): string;
  /** string: when the agent's own Redis user (its credential) was made and with which ACL rules; never the token */
  agentCredential(agent: string): string;
  /** string with expiry: an on-demand measurement as asked (targets, chosen agents, settings, deadline) */
  measurement(id: string): string;
  /** string with expiry: one chosen agent's progress on a measurement (running, finished, failed) */
  measurementState(agent: string, id: string): string;
  /** string with expiry: one chosen agent's figures per target of a measurement */
  measurementResult(agent: string, id: string): string;
  /** sorted set with expiry: ids of measurements not yet past their deadline, scored by it (ms); read by an agent whose stream was down, to catch up */
  measurementPending(): string;
  /** integer with expiry: measurements one token asked for in one fixed window (rate limit) */
  measureRate(client: string, window: number): string;
  /** set: alert rule names */
  alertList(): string;
  /** string: one alert rule (group limits or agents offline, for_s, notifiers) */
  alertRule(name: string): string;
  /** sorted set: rule name → the version of its current state; only ever raised (ZADD GT) */
  alertStates(): string;
  /** string: one state of a rule, claimed with SET NX so one evaluation makes each transition; `transition` is `{rule id}.{version}` */
  alertTransition(name: string, transition: string): string;
  /** sorted set: delivery ids still to send, scored by when the next attempt is due (ms) */
  alertOutbox(): string;
  /** string: one notification to one notifier (its payload, attempts so far) */
  alertDelivery(id: string): string;
  /** string with expiry: held by the invocation sending a delivery, so two never send it at once */
  alertLease(id: string): string;
  /** list: the rule's last 50 delivery attempts, newest first */
  alertLog(name: string): string;
  /** set: notifier names */
  notifierList(): string;
  /** string: one notifier, `{"type": "webhook", "url", "secret"}` or `{"type": "slack", "url"}` */
  notifier(name: string): string;
}

export function keySchema(prefix = ''): KeySchema {
  const k = (key: string) => prefix + key;
  return {
    prefix,
    agentList: () => k('agent-list'),
    agentOnline: (agent) => k(`agent-online_${agent}`),
    agentErrList: (agent) => k(`agent-err-list_${agent}`),
    agentJobs: (agent) => k(`agent-jobs_${agent}`),
    agentJob: (agent, job) => k(`agent_${agent}_${job}`),
    groupsList: () => k('groups-list'),
    group: (group) => k(`group_${group}`),
    ipStatus: (agent, ip) => k(`ip_${agent}_${ip}`),
    configVersion: () => k('config-version'),
    ipMinutes: (agent, ip) => k(`ip-minutes_${agent}_${ip}`),
    ipHours: (agent, ip) => k(`ip-hours_${agent}_${ip}`),
    ipMinuteBlock: (agent, ip, slot) => k(`ip-minute-block_${agent}_${ip}_${slot}`),
    ipHourBlock: (agent, ip, slot) => k(`ip-hour-block_${agent}_${ip}_${slot}`),
    configChannel: () => k('config-changed'),
    webhookSeen: (id) => k(`webhook-seen_${keyPart(id)}`),
    groupStaging: (group, token) => k(`group-staging_${token}_${group}`),
    groupDigest: (group) => k(`group-digest_${group}`),
    groupSummary: (agent, group) => k(`group-summary_${agent}_${group}`),
    agentSummary: (agent) => k(`agent-summary_${agent}`),
    agentCredential: (agent) => k(`agent-credential_${agent}`),
    measurement: (id) => k(`measurement_${id}`),
    measurementState: (agent, id) => k(`measurement-state_${agent}_${id}`),
    measurementResult: (agent, id) => k(`measurement-result_${agent}_${id}`),
    measurementPending: () => k('measurement-pending'),
    measureRate: (client, window) => k(`measure-rate_${client}_${window}`),
    alertList: () => k('alert-list'),
    alertRule: (name) => k(`alert_${name}`),
    alertStates: () => k('alert-states'),
    alertTransition: (name, transition) => k(`alert-transition_${name}_${transition}`),
    alertOutbox: () => k('alert-outbox'),
    alertDelivery: (id) => k(`alert-delivery_${id}`),
    alertLease: (id) => k(`alert-lease_${id}`),
    alertLog: (name) => k(`alert-log_${name}`),
    notifierList: () => k('notifier-list'),
    notifier: (name) => k(`notifier_${name}`),
  };
}

/**
 * A part from outside (a webhook id) made safe for a key: letters, digits and `._:-` kept, every
 * other byte percent-encoded, so no glob character (`*?[]\`) or key separator comes from a sender.
 */
function keyPart(text: string): string {
  return text.replace(/[^A-Za-z0-9._:-]/g, (c) =>
    [...new TextEncoder().encode(c)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  );
}

function fromKeyPart(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/** The SCAN pattern that matches every `ip_{agent}_*` key of one agent. */
export function ipStatusPattern(keys: KeySchema, agent: string): string {
  return `${escapeGlob(keys.ipStatus(agent, ''))}*`;
}

/** The SCAN pattern that matches every `group-summary_{agent}_*` key of one agent. */
export function groupSummaryPattern(keys: KeySchema, agent: string): string {
  return `${escapeGlob(keys.groupSummary(agent, ''))}*`;
}

/** Redis glob metacharacters escaped, so a prefix or name is matched literally (SCAN MATCH, ACL patterns). */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

export type ParsedKey =
  | { kind: 'agent-list' }
  | { kind: 'groups-list' }
  | { kind: 'config-version' }
  | { kind: 'agent-online'; agent: string }
  | { kind: 'agent-err-list'; agent: string }
  | { kind: 'agent-jobs'; agent: string }
  | { kind: 'agent-job'; agent: string; job: string }
  | { kind: 'group'; group: string }
  | { kind: 'ip-status'; agent: string; ip: string }
  | { kind: 'ip-minutes'; agent: string; ip: string }
  | { kind: 'ip-hours'; agent: string; ip: string }
  | { kind: 'ip-minute-block'; agent: string; ip: string; slot: number }
  | { kind: 'ip-hour-block'; agent: string; ip: string; slot: number }
  | { kind: 'webhook-seen'; id: string }
  | { kind: 'group-staging'; token: string; group: string }
  | { kind: 'group-digest'; group: string }
  | { kind: 'group-summary'; agent: string; group: string }
  | { kind: 'agent-summary'; agent: string }
  | { kind: 'agent-credential'; agent: string }
  | { kind: 'measurement'; id: string }
  | { kind: 'measurement-state'; id: string; agent: string }
  | { kind: 'measurement-result'; id: string; agent: string }
  | { kind: 'measurement-pending' }
  | { kind: 'measure-rate'; client: string; window: number }
  | { kind: 'alert-list' }
  | { kind: 'alert-states' }
  | { kind: 'alert-outbox' }
  | { kind: 'notifier-list' }
  | { kind: 'alert-rule'; rule: string }
  | { kind: 'alert-transition'; rule: string; transition: string }
  | { kind: 'alert-delivery'; id: string }
  | { kind: 'alert-lease'; id: string }
  | { kind: 'alert-log'; rule: string }
  | { kind: 'notifier'; notifier: string };

const plain = new Set([
  'agent-list',
  'groups-list',
  'config-version',
  'alert-list',
  'alert-states',
  'alert-outbox',
  'notifier-list',
  'measurement-pending',
]);

/** Alert keys: their parts (rule, notifier, delivery ids) never contain `_`. */
const alertParts: Record<string, 'alert-rule' | 'alert-delivery' | 'alert-lease' | 'alert-log' | 'notifier'> =
  {
    alert_: 'alert-rule',
    'alert-delivery_': 'alert-delivery',
    'alert-lease_': 'alert-lease',
    'alert-log_': 'alert-log',
    notifier_: 'notifier',
  };

const single: Record<string, ParsedKey['kind']> = {
  'agent-online_': 'agent-online',
  'agent-err-list_': 'agent-err-list',
  'agent-jobs_': 'agent-jobs',
  group_: 'group',
  'webhook-seen_': 'webhook-seen',
  'group-digest_': 'group-digest',
  'agent-summary_': 'agent-summary',
  'agent-credential_': 'agent-credential',
  measurement_: 'measurement',
};

const paired: Record<string, ParsedKey['kind']> = {
  agent_: 'agent-job',
  ip_: 'ip-status',
  'ip-minutes_': 'ip-minutes',
  'ip-hours_': 'ip-hours',
  'ip-minute-block_': 'ip-minute-block',
  'ip-hour-block_': 'ip-hour-block',
  'group-staging_': 'group-staging',
  'group-summary_': 'group-summary',
  'measurement-state_': 'measurement-state',
  'measurement-result_': 'measurement-result',
  'measure-rate_': 'measure-rate',
};

/**
 * Turns a key back into its parts, or null when it is not one of ours. Agent names (and staging
 * tokens) never contain `_`, so in a two-part key the first `_` ends the first part.
 */
export function parseKey(key: string, prefix = ''): ParsedKey | null {
  if (!key.startsWith(prefix)) return null;
  const rest = key.slice(prefix.length);
  if (plain.has(rest)) return { kind: rest } as ParsedKey;
  const cut = rest.indexOf('_');
  if (cut < 0) return null;
  const head = rest.slice(0, cut + 1);
  const tail = rest.slice(cut + 1);
  if (tail === '') return null;
  const alertKind = alertParts[head];
  if (alertKind) {
    if (tail.includes('_')) return null;
    if (alertKind === 'alert-rule' || alertKind === 'alert-log') return { kind: alertKind, rule: tail };
    if (alertKind === 'notifier') return { kind: 'notifier', notifier: tail };
    return { kind: alertKind, id: tail };
  }
  if (head === 'alert-transition_') {
    const split = tail.indexOf('_');
    if (split <= 0 || split === tail.length - 1) return null;
    return { kind: 'alert-transition', rule: tail.slice(0, split), transition: tail.slice(split + 1) };
  }
  const singleKind = single[head];
  if (singleKind) {
    if (singleKind === 'group') return { kind: 'group', group: tail };
    if (singleKind === 'webhook-seen') {
      const id = fromKeyPart(tail);
      return id === null ? null : { kind: 'webhook-seen', id };
    }
    if (singleKind === 'group-digest') return { kind: 'group-digest', group: tail };
    if (singleKind === 'measurement') return { kind: 'measurement', id: tail };
    return { kind: singleKind, agent: tail } as ParsedKey;
  }
  const pairedKind = paired[head];
  if (!pairedKind) return null;
  const split = tail.indexOf('_');
  if (split <= 0 || split === tail.length - 1) return null;
  const agent = tail.slice(0, split);
  const second = tail.slice(split + 1);
  if (pairedKind === 'agent-job') return { kind: 'agent-job', agent, job: second };
  if (pairedKind === 'group-staging') return { kind: 'group-staging', token: agent, group: second };
  if (pairedKind === 'group-summary') return { kind: 'group-summary', agent, group: second };
  // Measurement ids and rate-limit client ids never contain `_` either.
  if (pairedKind === 'measurement-state' || pairedKind === 'measurement-result') {
    return { kind: pairedKind, agent, id: second };
  }
  if (pairedKind === 'measure-rate') {
    return /^[0-9]+$/.test(second) ? { kind: 'measure-rate', client: agent, window: Number(second) } : null;
  }
  if (pairedKind === 'ip-minute-block' || pairedKind === 'ip-hour-block') {
    // `{ip}_{slot}`: IPs never contain `_`, so the last one starts the slot.
    const cutSlot = second.lastIndexOf('_');
    const slot = second.slice(cutSlot + 1);
    if (cutSlot <= 0 || !/^[0-9]+$/.test(slot)) return null;
    return { kind: pairedKind, agent, ip: second.slice(0, cutSlot), slot: Number(slot) };
  }
  return { kind: pairedKind, agent, ip: second } as ParsedKey;
}
