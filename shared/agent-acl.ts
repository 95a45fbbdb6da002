import { escapeGlob, type KeySchema, keySchema } from './keys.ts';

// What a field agent's own Redis user may do, as ACL SETUSER rules. Agents run on the least
// trusted machines of a deployment, so each gets a user that writes only its own keys, reads only
// what its runs need, and runs no command beyond the handful its store calls send.
//
// Every key family of shared/keys.ts is classified below; the table is typed by KeySchema, so a
// new family does not compile until someone decides what agents may do with it, and the patterns
// are derived from the key functions themselves, so they cannot drift from the keys.

export type AgentAccess =
  /** keys of this agent only, read and written (statuses, history, summaries, heartbeat, err list) */
  | 'own-write'
  /** keys of this agent only, read (its job list and jobs) */
  | 'own-read'
  /** every key of the family, read (groups, the config version) */
  | 'read'
  /** SADD only (agent-list: an agent registers itself) */
  | 'sadd'
  /** a pub/sub channel the agent subscribes to */
  | 'subscribe'
  /** nothing: the API's keys */
  | 'none';

export const AGENT_ACCESS: Record<Exclude<keyof KeySchema, 'prefix'>, AgentAccess> = {
  agentList: 'sadd',
  agentOnline: 'own-write',
  agentErrList: 'own-write',
  agentJobs: 'own-read',
  agentJob: 'own-read',
  groupsList: 'read',
  group: 'read',
  ipStatus: 'own-write',
  configVersion: 'read',
  // The old history layout: no longer written, but spooled batches from before may still hold it.
  ipMinutes: 'own-write',
  ipHours: 'own-write',
  ipMinuteBlock: 'own-write',
  ipHourBlock: 'own-write',
  configChannel: 'subscribe',
  webhookSeen: 'none',
  groupStaging: 'none',
  groupDigest: 'none',
  groupSummary: 'own-write',
  agentSummary: 'own-write',
  agentCredential: 'none',
  // On-demand measurements: the agent reads the request and writes its own progress and figures;
  // after its stream was down it reads which measurements are still pending (ids only, as every
  // request is readable anyway).
  measurement: 'read',
  measurementState: 'own-write',
  measurementResult: 'own-write',
  measurementPending: 'read',
  measureRate: 'none',
  // Alerts are the API's alone: agents neither read rules nor see notifier URLs and secrets.
  alertList: 'none',
  alertRule: 'none',
  alertStates: 'none',
  alertTransition: 'none',
  alertOutbox: 'none',
  alertDelivery: 'none',
  alertLease: 'none',
  alertLog: 'none',
  notifierList: 'none',
  notifier: 'none',
};

/** The commands the agent's store calls send (shared/store/*, agent/daemon/*), and no other. */
export const AGENT_COMMANDS = {
  read: ['get', 'mget', 'exists', 'smembers', 'sismember', 'smismember', 'scard', 'sscan', 'scan', 'zrange'],
  write: ['set', 'mset', 'del', 'unlink', 'sadd', 'srem', 'expire', 'zadd', 'zremrangebyscore'],
  other: ['ping', 'subscribe', 'unsubscribe'],
} as const;

/** ACL flavours: Redis >= 7 (read/write key permissions, selectors) or the 6.2 rules Upstash documents. */
export type AclFlavour = 'redis7' | 'redis6';

export interface AgentKeyPatterns {
  /** glob patterns the agent reads and writes */
  write: string[];
  /** glob patterns the agent only reads */
  read: string[];
  /** the key the agent may only SADD to */
  sadd: string[];
  /** channels the agent may subscribe to */
  channels: string[];
}

const HOLE = '\u0000';

/** The pattern of one family: the key function called with the agent and holes for the other parts. */
function familyPattern(keys: KeySchema, name: keyof typeof AGENT_ACCESS, agent: string): string {
  const fn = keys[name] as (...parts: unknown[]) => string;
  const parts = fn.length === 0 ? [] : [agent, ...Array.from({ length: fn.length - 1 }, () => HOLE)];
  const key = fn(...parts);
  return escapeGlob(key).split(HOLE).join('*');
}

/** The agent's key and channel patterns, derived from the key functions. */
export function agentKeyPatterns(agent: string, prefix = ''): AgentKeyPatterns {
  const keys = keySchema(prefix);
  const out: AgentKeyPatterns = { write: [], read: [], sadd: [], channels: [] };
  for (const [name, access] of Object.entries(AGENT_ACCESS) as [keyof typeof AGENT_ACCESS, AgentAccess][]) {
    if (access === 'none') continue;
    if (access === 'subscribe') {
      out.channels.push(escapeGlob((keys[name] as () => string)()));
      continue;
    }
    // Families that are not the agent's own take a hole where the agent's name would go.
    const pattern = familyPattern(keys, name, access === 'read' ? HOLE : agent);
    if (access === 'own-write') out.write.push(pattern);
    else if (access === 'sadd') out.sadd.push(pattern);
    else out.read.push(pattern);
  }
  return out;
}

/** The Redis user of one agent; the prefix keeps the users of deployments sharing a database apart. */
export function agentUserName(agent: string, prefix = ''): string {
  return `ping-agent.${prefix}${agent}`;
}

/**
 * The rules after `ACL SETUSER <user>`, starting from a clean slate (`reset`), so creating and
 * rotating are the same call and nothing of an earlier grant survives. `password` is the token
 * Redis (or Upstash) checks, set with `>`.
 *
 * redis7: reads by `%R~`, writes by `%W~` (read-write `~` for its own keys), and SADD on
 * agent-list through a selector of its own: any other command on agent-list, and SADD anywhere
 * else but its own keys, is refused.
 *
 * redis6: without read/write key permissions or selectors, every allowed command applies to every
 * allowed key: the agent could also overwrite or delete the groups, the config version, its own
 * jobs and agent-list (see the README's residual risk). Other agents' keys and every command not
 * listed stay refused.
 */
export function agentAclRules(
  agent: string,
  password: string,
  options: { prefix?: string; flavour?: AclFlavour } = {},
): string[] {
  const patterns = agentKeyPatterns(agent, options.prefix ?? '');
  const commands = [...AGENT_COMMANDS.read, ...AGENT_COMMANDS.write, ...AGENT_COMMANDS.other];
  const rules = ['reset', 'on', `>${password}`, 'resetchannels'];
  for (const channel of patterns.channels) rules.push(`&${channel}`);
  rules.push('-@all', ...commands.map((c) => `+${c}`));
  if (options.flavour === 'redis6') {
    for (const p of [...patterns.write, ...patterns.read, ...patterns.sadd]) rules.push(`~${p}`);
    return rules;
  }
  for (const p of patterns.write) rules.push(`~${p}`);
  for (const p of patterns.read) rules.push(`%R~${p}`);
  for (const p of patterns.sadd) rules.push(`(+sadd ~${p})`);
  return rules;
}
