import { UsageError } from './usage-error.ts';

// The API commands (check, measure, credentials) all reach the API the same way: a base URL and a
// token, each from its flag or the environment, and paths under the base (which may itself sit
// under a path, as behind a proxy).

export interface ApiTarget {
  base: URL;
  token: string;
}

/** `--url` and `--token` with their environment fallbacks; throws a UsageError naming the fix. */
export function apiTarget(
  command: string,
  values: { url?: string; token?: string },
  env: NodeJS.ProcessEnv,
): ApiTarget {
  const raw = values.url ?? env.PING_AGENT_API_URL;
  if (!raw) throw new UsageError(`ping-agent ${command}: no API URL; pass --url or set PING_AGENT_API_URL`);
  let base: URL;
  try {
    base = new URL(raw);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new UsageError(`ping-agent ${command}: --url must be an http(s) URL, not "${raw}"`);
  }
  const token = values.token ?? env.PING_AGENT_API_TOKEN;
  if (!token) {
    throw new UsageError(`ping-agent ${command}: no token; pass --token or set PING_AGENT_API_TOKEN`);
  }
  return { base, token };
}

/** `path` (with its query) under the API's base URL. */
export function apiUrl(base: URL, path: string): URL {
  return new URL(`${base.pathname.replace(/\/+$/, '')}${path}`, base);
}
