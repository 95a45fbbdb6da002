// Name rules that keep every key parseable. `_` separates the parts of a key, and the agent name
// always comes first (`agent_{agent}_{job}`, `ip_{agent}_{ip}`), so an agent name never contains
// `_`; whatever follows the agent's `_` is the job name or IP, which may.

export const AGENT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9.-]{0,63}$/;
export const GROUP_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const JOB_NAME_PATTERN = GROUP_NAME_PATTERN;

export type NameKind = 'agent' | 'group' | 'job';

const patterns: Record<NameKind, RegExp> = {
  agent: AGENT_NAME_PATTERN,
  group: GROUP_NAME_PATTERN,
  job: JOB_NAME_PATTERN,
};

const rules: Record<NameKind, string> = {
  agent: '1-64 characters of letters, digits, "." and "-", starting with a letter or digit (no "_")',
  group: '1-64 characters of letters, digits, ".", "_" and "-", starting with a letter or digit',
  job: '1-64 characters of letters, digits, ".", "_" and "-", starting with a letter or digit',
};

export function isValidName(kind: NameKind, name: string): boolean {
  return patterns[kind].test(name);
}

/** The rule a name of this kind must follow, for error messages. */
export function nameRule(kind: NameKind): string {
  return rules[kind];
}

/** Turns any string (a hostname, say) into a valid agent name, or '' when nothing is left. */
export function toAgentName(raw: string): string {
  const cleaned = raw
    .replace(/[^A-Za-z0-9.-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 64);
  return AGENT_NAME_PATTERN.test(cleaned) ? cleaned : '';
}
