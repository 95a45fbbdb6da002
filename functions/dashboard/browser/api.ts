import type { ErrorEnvelope } from './api-types.ts';
import { state } from './state.ts';

// Every request carries the token the user pasted; the page itself holds no data.

export function authHeaders(extra: Record<string, string> = {}): Record<string, string> {
  return { ...extra, authorization: `Bearer ${state.token}` };
}

/** A GET of the API; an answer other than 2xx throws "STATUS message" from the error envelope. */
export async function api<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: authHeaders() });
  const body: unknown = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(`${response.status} ${errorMessage(body) ?? response.statusText}`);
  return body as T;
}

export function errorMessage(body: unknown): string | undefined {
  return (body as ErrorEnvelope | null)?.error?.message;
}
