// What the dashboard shows: the token the user pasted (kept in localStorage across visits) and
// the group, agent, IP and time range picked.

export const RANGES = { '1h': 3600, '24h': 86400, '30d': 2592000 } as const;
export type Range = keyof typeof RANGES;

export function isRange(value: unknown): value is Range {
  return typeof value === 'string' && Object.hasOwn(RANGES, value);
}

const TOKEN_KEY = 'ping-agent-token';

export const state: {
  token: string;
  group: string | null;
  agent: string | null;
  ip: string | null;
  range: Range;
} = { token: localStorage.getItem(TOKEN_KEY) ?? '', group: null, agent: null, ip: null, range: '1h' };

export function rememberToken(token: string): void {
  state.token = token;
  localStorage.setItem(TOKEN_KEY, token);
}
